// Package core is the machinery every svcstore repository shares: the
// schema resolved against a message type, key parsing and ordering,
// update_mask resolution, List filters and page tokens. svcstore.Memory and
// the SQL repositories use it so that they validate and answer alike; it has
// no dependency beyond protobuf and grpc status.
package core

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// SchemaSpec mirrors svcstore.Schema (which this package cannot import).
type SchemaSpec struct {
	KeyField, KeyPrefix, EtagField, CreateTimeField, UpdateTimeField string
	Indexes                                                          []string
}

// KeyKind is how a key field's values are ordered and stored.
type KeyKind int

const (
	StringKey   KeyKind = iota // compared as byte strings
	SignedKey                  // int32/int64/sint*/sfixed*: numeric order
	UnsignedKey                // uint32/uint64/fixed*: numeric order
)

const timestampFullName protoreflect.FullName = "google.protobuf.Timestamp"

// Layout is a Schema resolved against a message type: where the standard
// fields are and what kind of key it has. It is immutable.
type Layout struct {
	TypeName  protoreflect.FullName
	MsgType   protoreflect.MessageType
	KeyPrefix string

	KeyFD    protoreflect.FieldDescriptor
	EtagFD   protoreflect.FieldDescriptor // nil when the schema has no etag
	CreateFD protoreflect.FieldDescriptor // nil without create_time
	UpdateFD protoreflect.FieldDescriptor // nil without update_time

	KeyKind KeyKind
	keyBits int // 32 or 64 for integer keys

	// Indexes are the declared secondary indexes, in declaration order.
	Indexes []Index

	declsOnce sync.Once
	decls     *filterDecls // AIP-160 declarations, built on first use
}

// NewLayout checks spec against mt: every named field exists, is a
// top-level singular field of the right kind, and is used once.
func NewLayout(mt protoreflect.MessageType, spec SchemaSpec) (*Layout, error) {
	md := mt.Descriptor()
	l := &Layout{TypeName: md.FullName(), MsgType: mt, KeyPrefix: spec.KeyPrefix}
	if spec.KeyField == "" {
		return nil, fmt.Errorf("svcstore: %s: Schema.KeyField is required", md.FullName())
	}
	used := map[protoreflect.Name]string{}
	lookup := func(option, name string, want func(protoreflect.FieldDescriptor) bool, wantDesc string) (protoreflect.FieldDescriptor, error) {
		if name == "" {
			return nil, nil
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return nil, fmt.Errorf("svcstore: %s has no field %q (Schema.%s)", md.FullName(), name, option)
		}
		if fd.Cardinality() == protoreflect.Repeated || !want(fd) {
			return nil, fmt.Errorf("svcstore: field %s.%s (Schema.%s) must be a singular %s, not %s",
				md.FullName(), name, option, wantDesc, DescribeField(fd))
		}
		if prev, ok := used[fd.Name()]; ok {
			return nil, fmt.Errorf("svcstore: field %s.%s is named by both Schema.%s and Schema.%s",
				md.FullName(), name, prev, option)
		}
		used[fd.Name()] = option
		return fd, nil
	}
	isString := func(fd protoreflect.FieldDescriptor) bool { return fd.Kind() == protoreflect.StringKind }
	isKey := func(fd protoreflect.FieldDescriptor) bool {
		kind, _ := keyKindOf(fd)
		return fd.Kind() == protoreflect.StringKind || kind != StringKey
	}
	isTimestamp := func(fd protoreflect.FieldDescriptor) bool {
		return fd.Kind() == protoreflect.MessageKind && fd.Message().FullName() == timestampFullName
	}
	var err error
	if l.KeyFD, err = lookup("KeyField", spec.KeyField, isKey, "string or integer"); err != nil {
		return nil, err
	}
	l.KeyKind, l.keyBits = keyKindOf(l.KeyFD)
	if l.KeyKind != StringKey && spec.KeyPrefix != "" {
		return nil, fmt.Errorf("svcstore: %s: Schema.KeyPrefix %q needs a string key, but %s is %s",
			md.FullName(), spec.KeyPrefix, l.KeyFD.Name(), l.KeyFD.Kind())
	}
	// Server-assigned keys are KeyPrefix followed by a 36-byte id; a prefix
	// that leaves no room for one would make every such Create fail.
	if n := len(spec.KeyPrefix); n > MaxKeyBytes-36 {
		return nil, fmt.Errorf("svcstore: %s: Schema.KeyPrefix has %d bytes; keys are at most %d bytes, so it may have at most %d",
			md.FullName(), n, MaxKeyBytes, MaxKeyBytes-36)
	}
	if l.EtagFD, err = lookup("EtagField", spec.EtagField, isString, "string"); err != nil {
		return nil, err
	}
	if l.CreateFD, err = lookup("CreateTimeField", spec.CreateTimeField, isTimestamp, string(timestampFullName)); err != nil {
		return nil, err
	}
	if l.UpdateFD, err = lookup("UpdateTimeField", spec.UpdateTimeField, isTimestamp, string(timestampFullName)); err != nil {
		return nil, err
	}
	if err := l.resolveIndexes(spec.Indexes); err != nil {
		return nil, err
	}
	return l, nil
}

func keyKindOf(fd protoreflect.FieldDescriptor) (KeyKind, int) {
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return SignedKey, 32
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return SignedKey, 64
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return UnsignedKey, 32
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return UnsignedKey, 64
	}
	return StringKey, 0
}

// IntKey reports whether the key field is an integer.
func (l *Layout) IntKey() bool { return l.KeyKind != StringKey }

// Key is a validated key: its canonical string form and, for integer keys,
// its value (an int64 for signed keys, the uint64 bits for unsigned ones).
type Key struct {
	Text string
	Int  int64
	Uint uint64
}

// ParseKey validates a key given as a string: non-empty, and for integer
// keys the canonical decimal form of a non-zero value in the field's range
// (zero is "unset"). Errors are InvalidArgument naming the field.
func (l *Layout) ParseKey(key string) (Key, error) {
	if key == "" {
		return Key{}, l.EmptyKey()
	}
	switch l.KeyKind {
	case SignedKey:
		v, err := strconv.ParseInt(key, 10, l.keyBits)
		if err != nil || strconv.FormatInt(v, 10) != key {
			return Key{}, l.badIntKey(key, err)
		}
		if v == 0 {
			return Key{}, l.EmptyKey()
		}
		return Key{Text: key, Int: v}, nil
	case UnsignedKey:
		v, err := strconv.ParseUint(key, 10, l.keyBits)
		if err != nil || strconv.FormatUint(v, 10) != key {
			return Key{}, l.badIntKey(key, err)
		}
		if v == 0 {
			return Key{}, l.EmptyKey()
		}
		return Key{Text: key, Uint: v}, nil
	}
	return Key{Text: key}, nil
}

func (l *Layout) badIntKey(key string, err error) error {
	why := "not the canonical decimal form of an integer"
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		why = "out of range for " + l.KeyFD.Kind().String()
	}
	return status.Errorf(codes.InvalidArgument, "%s: %s %s is %s", l.TypeName, l.KeyFD.Name(), Quote(key), why)
}

// KeyOf returns the key of r in canonical string form ("" when unset).
func (l *Layout) KeyOf(r protoreflect.Message) string {
	v := r.Get(l.KeyFD)
	switch l.KeyKind {
	case SignedKey:
		if v.Int() == 0 {
			return ""
		}
		return strconv.FormatInt(v.Int(), 10)
	case UnsignedKey:
		if v.Uint() == 0 {
			return ""
		}
		return strconv.FormatUint(v.Uint(), 10)
	}
	return v.String()
}

// KeyValue returns the key of r as a Key (zero Key when unset).
func (l *Layout) KeyValue(r protoreflect.Message) Key {
	v := r.Get(l.KeyFD)
	switch l.KeyKind {
	case SignedKey:
		if v.Int() == 0 {
			return Key{}
		}
		return Key{Text: strconv.FormatInt(v.Int(), 10), Int: v.Int()}
	case UnsignedKey:
		if v.Uint() == 0 {
			return Key{}
		}
		return Key{Text: strconv.FormatUint(v.Uint(), 10), Uint: v.Uint()}
	}
	return Key{Text: v.String()}
}

// SetKey writes k into r's key field.
func (l *Layout) SetKey(r protoreflect.Message, k Key) {
	switch {
	case l.KeyKind == SignedKey && l.keyBits == 32:
		r.Set(l.KeyFD, protoreflect.ValueOfInt32(int32(k.Int)))
	case l.KeyKind == SignedKey:
		r.Set(l.KeyFD, protoreflect.ValueOfInt64(k.Int))
	case l.KeyKind == UnsignedKey && l.keyBits == 32:
		r.Set(l.KeyFD, protoreflect.ValueOfUint32(uint32(k.Uint)))
	case l.KeyKind == UnsignedKey:
		r.Set(l.KeyFD, protoreflect.ValueOfUint64(k.Uint))
	default:
		r.Set(l.KeyFD, protoreflect.ValueOfString(k.Text))
	}
}

// SortKey returns a string whose byte order is the key order: the key itself
// for string keys, and a fixed-width big-endian encoding (sign bit flipped
// for signed keys) for integer keys, so that 9 < 10 < 100.
func (l *Layout) SortKey(k Key) string {
	var b [8]byte
	switch l.KeyKind {
	case SignedKey:
		binary.BigEndian.PutUint64(b[:], uint64(k.Int)^(1<<63))
	case UnsignedKey:
		binary.BigEndian.PutUint64(b[:], k.Uint)
	default:
		return k.Text
	}
	return string(b[:])
}

// MaxKey is the largest value an integer key field holds.
func (l *Layout) MaxKey() Key {
	switch {
	case l.KeyKind == SignedKey && l.keyBits == 32:
		return IntKey(math.MaxInt32)
	case l.KeyKind == SignedKey:
		return IntKey(math.MaxInt64)
	case l.keyBits == 32:
		return UintKey(math.MaxUint32)
	default:
		return UintKey(math.MaxUint64)
	}
}

// IntKey and UintKey build integer Keys.
func IntKey(v int64) Key   { return Key{Text: strconv.FormatInt(v, 10), Int: v} }
func UintKey(v uint64) Key { return Key{Text: strconv.FormatUint(v, 10), Uint: v} }

// ClearManaged clears the output-only fields (etag and times) of r: what a
// client sends in them is dropped rather than stored.
func (l *Layout) ClearManaged(r protoreflect.Message) {
	for _, fd := range []protoreflect.FieldDescriptor{l.EtagFD, l.CreateFD, l.UpdateFD} {
		if fd != nil {
			r.Clear(fd)
		}
	}
}

// PrepareReplacement turns in into a full replacement of old: the store's
// fields are cleared and create_time is carried over.
func (l *Layout) PrepareReplacement(in, old protoreflect.Message) {
	l.ClearManaged(in)
	if l.CreateFD != nil && old.Has(l.CreateFD) {
		created := proto.Clone(old.Get(l.CreateFD).Message().Interface())
		in.Set(l.CreateFD, protoreflect.ValueOfMessage(created.ProtoReflect()))
	}
}

// Etag returns r's etag, "" without an etag field.
func (l *Layout) Etag(r protoreflect.Message) string {
	if l.EtagFD == nil {
		return ""
	}
	return r.Get(l.EtagFD).String()
}

// SetEtag sets r's etag to the quoted decimal version, if it has an etag.
func (l *Layout) SetEtag(r protoreflect.Message, version uint64) {
	if l.EtagFD != nil {
		r.Set(l.EtagFD, protoreflect.ValueOfString(FormatEtag(version)))
	}
}

// FormatEtag is the etag of a version: a strong etag such as "17", quotes
// included.
func FormatEtag(version uint64) string { return `"` + strconv.FormatUint(version, 10) + `"` }

// CheckEtag compares a client's etag with the stored one ("" is
// unconditional).
func (l *Layout) CheckEtag(key, stored, etag string) error {
	if l.EtagFD == nil || etag == "" || stored == etag {
		return nil
	}
	return status.Errorf(codes.Aborted, "%s %q: etag %s does not match current etag %s; re-read and retry",
		l.TypeName, key, etag, stored)
}

// CheckDeleteEtag rejects an etag on a type without an etag field.
func (l *Layout) CheckDeleteEtag(key, etag string) error {
	if etag != "" && l.EtagFD == nil {
		return status.Errorf(codes.InvalidArgument, "delete %s %q: etag given but %s has no etag field",
			l.TypeName, key, l.TypeName)
	}
	return nil
}

// SetTime sets the Timestamp field fd of r (if fd is not nil) to t, through
// reflection, so it does not depend on how M's Go type was generated.
func SetTime(r protoreflect.Message, fd protoreflect.FieldDescriptor, t time.Time) {
	if fd == nil {
		return
	}
	ts := r.Mutable(fd).Message()
	fields := ts.Descriptor().Fields()
	ts.Set(fields.ByName("seconds"), protoreflect.ValueOfInt64(t.Unix()))
	ts.Set(fields.ByName("nanos"), protoreflect.ValueOfInt32(int32(t.Nanosecond())))
}

// StampCreate sets both times of a new resource.
func (l *Layout) StampCreate(r protoreflect.Message, now time.Time) {
	SetTime(r, l.CreateFD, now)
	SetTime(r, l.UpdateFD, now)
}

// NotFound, AlreadyExists, EmptyKey and NilMessage are the common errors.
func (l *Layout) NotFound(key string) error {
	return status.Errorf(codes.NotFound, "%s %s not found", l.TypeName, Quote(key))
}

func (l *Layout) AlreadyExists(key string) error {
	return status.Errorf(codes.AlreadyExists, "%s %s already exists", l.TypeName, Quote(key))
}

func (l *Layout) EmptyKey() error {
	return status.Errorf(codes.InvalidArgument, "%s: %s must not be empty", l.TypeName, l.KeyFD.Name())
}

func (l *Layout) NilMessage(op string) error {
	return status.Errorf(codes.InvalidArgument, "%s %s: message is nil", op, l.TypeName)
}

// DescribeField names a field's type for error messages.
func DescribeField(fd protoreflect.FieldDescriptor) string {
	switch {
	case fd.IsMap():
		return "map field"
	case fd.IsList():
		return "repeated " + kindName(fd)
	default:
		return kindName(fd)
	}
}

func kindName(fd protoreflect.FieldDescriptor) string {
	if md := fd.Message(); md != nil && !fd.IsMap() {
		return string(md.FullName())
	}
	return fd.Kind().String()
}

// maxQuoted is how much of a client's string an error message quotes.
const maxQuoted = 128

// Quote quotes s for an error message, cut to its first maxQuoted bytes
// (on a character boundary) with its length when longer: a message echoing
// a megabyte key would itself be too large for the status a client reads
// from the trailers (grpc-go accepts 16 KiB of headers by default).
func Quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(s[:cut]), len(s))
}

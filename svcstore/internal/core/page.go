package core

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// DefaultMaxPageBytes is the default byte budget of a List page (exported
// by svcstore). It is gRPC's default receive limit (4 MiB, which grpc-go
// clients and servers apply unless told otherwise) less 64 KiB. The 64 KiB
// leave room for everything in a List response besides the items: the
// next_page_token (under 3 KB: see MaxKeyBytes), a total_size or similar
// fields, and the tags and length prefixes around them. A page's items never
// exceed the budget, so a default client can always receive a page.
const DefaultMaxPageBytes = 4<<20 - 64<<10

// MaxKeyBytes is the longest string key a store accepts for a new resource
// (exported by svcstore). Page tokens carry the last key of their page, so
// a bounded key keeps every token small enough to send back (a token of a
// key this long is about 2.8 KB). 2048 also keeps the stores alike:
// PostgreSQL refuses B-tree index entries above about 2.7 KB, so a larger
// cap would hold in Memory and SQLite but fail in PostgreSQL.
const MaxKeyBytes = 2048

// itemTagBytes is what the tag of a repeated message field costs in a
// response: one byte for field numbers 1 to 15 (where List responses keep
// their items), two up to 2047. Counting two errs on the safe side for
// either.
const itemTagBytes = 2

// ItemCost is what one item of encoded size n adds to a List response: its
// bytes, its length prefix and its field tag.
func ItemCost(n int) int { return itemTagBytes + protowire.SizeBytes(n) }

// PageBudget tracks the bytes of one List page as they will be encoded in
// the response.
type PageBudget struct {
	limit, used int
	items       int
}

// NewPageBudget returns the budget of one page.
func (s *Settings) NewPageBudget() PageBudget { return PageBudget{limit: s.MaxPageBytes} }

// Take adds an item of encoded size n to the page if it fits, and reports
// whether it did. The first item always fits, so a page is never empty
// while items remain: an item above the whole budget comes alone, and the
// server's send limit then decides whether it can be answered.
func (b *PageBudget) Take(n int) bool {
	c := ItemCost(n)
	if b.items > 0 && b.used+c > b.limit {
		return false
	}
	b.used += c
	b.items++
	return true
}

// CheckNewKey refuses a string key longer than MaxKeyBytes for a new
// resource. The message gives the length, not the key, which may be
// megabytes long. generated says the store's key generator made the key:
// then it is the server's fault (Internal), not the client's.
func (l *Layout) CheckNewKey(op, key string, generated bool) error {
	if len(key) <= MaxKeyBytes {
		return nil
	}
	if generated {
		return status.Errorf(codes.Internal, "%s %s: generated %s has %d bytes, more than the maximum of %d",
			op, l.TypeName, l.KeyFD.Name(), len(key), MaxKeyBytes)
	}
	return status.Errorf(codes.InvalidArgument, "%s %s: %s has %d bytes, more than the maximum of %d",
		op, l.TypeName, l.KeyFD.Name(), len(key), MaxKeyBytes)
}

// KeyEtagSize is what the key and etag fields of a resource add to its
// encoded size. The SQL stores keep both in columns, outside the stored
// message, so a row's encoded size is its message column's length plus
// this: fields encode independently, so sizes add up exactly. It lets a
// store size a row without decoding it.
func (l *Layout) KeyEtagSize(k Key, version uint64) int {
	n := protowire.SizeTag(l.KeyFD.Number())
	switch l.KeyFD.Kind() {
	case protoreflect.StringKind:
		n += protowire.SizeBytes(len(k.Text))
	case protoreflect.Int32Kind, protoreflect.Int64Kind:
		n += protowire.SizeVarint(uint64(k.Int)) // a negative int32 is sign-extended to 10 bytes, as here
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		n += protowire.SizeVarint(protowire.EncodeZigZag(k.Int))
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		n += protowire.SizeVarint(k.Uint)
	case protoreflect.Sfixed32Kind, protoreflect.Fixed32Kind:
		n += protowire.SizeFixed32()
	case protoreflect.Sfixed64Kind, protoreflect.Fixed64Kind:
		n += protowire.SizeFixed64()
	}
	if l.EtagFD != nil {
		n += protowire.SizeTag(l.EtagFD.Number()) + protowire.SizeBytes(len(FormatEtag(version)))
	}
	return n
}

// Reference implementations used as test oracles.

package storetest

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// resolvePath maps a dotted field path of md to its field descriptors, or
// returns nil.
func resolvePath(md protoreflect.MessageDescriptor, path string) []protoreflect.FieldDescriptor {
	if path == "" {
		return nil
	}
	var fds []protoreflect.FieldDescriptor
	for _, name := range strings.Split(path, ".") {
		if md == nil {
			return nil
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return nil
		}
		fds = append(fds, fd)
		md = fd.Message()
		if fd.IsList() || fd.IsMap() {
			md = nil
		}
	}
	return fds
}

// copyPath is the reference meaning of one update_mask path: the field at
// path in dst becomes a copy of the one in src (unset if src has none).
func copyPath(dst, src protoreflect.Message, path []protoreflect.FieldDescriptor) {
	last := len(path) - 1
	for _, fd := range path[:last] {
		if src != nil && src.Has(fd) {
			src = src.Get(fd).Message()
		} else {
			src = nil // the leaf is unset in src
		}
		if src == nil && !dst.Has(fd) {
			return // unset in both: nothing to clear, nothing to copy
		}
		dst = dst.Mutable(fd).Message()
	}
	leaf := path[last]
	dst.Clear(leaf)
	if src != nil && src.Has(leaf) {
		c := proto.Clone(src.Interface()).ProtoReflect()
		dst.Set(leaf, c.Get(leaf))
	}
}

// scramble changes every populated field of m in place, recursing into
// nested messages, lists and maps, so that any memory shared with a stored
// message, at any depth, shows up as a change to it.
func scramble(m protoreflect.Message) {
	type entry struct {
		fd protoreflect.FieldDescriptor
		v  protoreflect.Value
	}
	var set []entry
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		set = append(set, entry{fd, v})
		return true
	})
	for _, e := range set {
		switch {
		case e.fd.IsList():
			l := e.v.List()
			for i := range l.Len() {
				if e.fd.Message() != nil {
					scramble(l.Get(i).Message())
				} else {
					l.Set(i, scrambleScalar(e.fd, l.Get(i)))
				}
			}
		case e.fd.IsMap():
			mp := e.v.Map()
			var keys []protoreflect.MapKey
			mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k)
				return true
			})
			for _, k := range keys {
				if vd := e.fd.MapValue(); vd.Message() != nil {
					scramble(mp.Get(k).Message())
				} else {
					mp.Set(k, scrambleScalar(vd, mp.Get(k)))
				}
			}
		case e.fd.Message() != nil:
			scramble(m.Mutable(e.fd).Message())
		default:
			m.Set(e.fd, scrambleScalar(e.fd, e.v))
		}
	}
}

func scrambleScalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(!v.Bool())
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(v.String() + "~scrambled")
	case protoreflect.BytesKind:
		// In place, so that a shared backing array is caught too.
		if b := v.Bytes(); len(b) > 0 {
			b[0] ^= 0xff
			return protoreflect.ValueOfBytes(b)
		}
		return protoreflect.ValueOfBytes([]byte{0xff})
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(v.Enum() + 1)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(v.Int()) + 1)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(v.Int() + 1)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(v.Uint()) + 1)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(v.Uint() + 1)
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(v.Float()) + 1)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(v.Float() + 1)
	}
	return v
}

package core

import (
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// FieldPath is an update_mask path resolved to the field descriptors it walks
// through, outermost first.
type FieldPath []protoreflect.FieldDescriptor

// ResolveMask validates mask against the message type and resolves its
// paths. full reports a full replacement: the single path "*". A nil or
// empty mask means the fields populated in the incoming message in
// (AIP-134's implied mask).
func (m *Layout) ResolveMask(mask *fieldmaskpb.FieldMask, in protoreflect.Message) (paths []FieldPath, full bool, err error) {
	raw := mask.GetPaths()
	if len(raw) == 0 {
		in.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
			switch fd {
			case m.KeyFD, m.EtagFD, m.CreateFD, m.UpdateFD:
			default:
				paths = append(paths, FieldPath{fd})
			}
			return true
		})
		return paths, false, nil
	}
	if slices.Contains(raw, "*") {
		if len(raw) != 1 {
			return nil, false, status.Errorf(codes.InvalidArgument,
				"update %s: update_mask path \"*\" must be the only path, got %s", m.TypeName, Quote(strings.Join(raw, ", ")))
		}
		return nil, true, nil
	}
	// fieldmaskpb is the reference for which paths are valid: names are
	// proto field names, nested paths walk singular message fields, and a
	// repeated or map field may only come last. IsValid does not allocate;
	// only when it fails do we look for the path to name in the error.
	zero := m.MsgType.Zero().Interface()
	if !mask.IsValid(zero) {
		for _, p := range raw {
			if _, err := fieldmaskpb.New(zero, p); err != nil {
				return nil, false, status.Errorf(codes.InvalidArgument,
					"update %s: invalid update_mask path %s: no such field", m.TypeName, Quote(p))
			}
		}
	}
	if len(raw) > 1 {
		// Normalize a copy (it sorts in place) to drop paths covered by a
		// shorter one, e.g. "details.pages" when "details" is also present.
		norm := &fieldmaskpb.FieldMask{Paths: slices.Clone(raw)}
		norm.Normalize()
		raw = norm.GetPaths()
	}
	for _, p := range raw {
		fp := ResolvePath(m.MsgType.Descriptor(), p)
		if fp == nil {
			// Unreachable: fieldmaskpb accepted the path above.
			return nil, false, status.Errorf(codes.Internal, "update %s: cannot resolve update_mask path %q", m.TypeName, p)
		}
		switch fp[0] {
		case m.KeyFD, m.EtagFD, m.CreateFD, m.UpdateFD:
			// The key identifies the resource and the others are output
			// only; a client asking to set them has a bug worth reporting.
			return nil, false, status.Errorf(codes.InvalidArgument,
				"update %s: update_mask path %q names field %q, which cannot be updated", m.TypeName, p, fp[0].Name())
		}
		paths = append(paths, fp)
	}
	return paths, false, nil
}

// ResolvePath maps a dotted path to field descriptors, or returns nil when a
// name does not resolve. It mirrors fieldmaskpb's lookup, including its
// rule that a group field is named by its message name.
func ResolvePath(md protoreflect.MessageDescriptor, path string) FieldPath {
	var fp FieldPath
	for _, name := range strings.Split(path, ".") {
		if md == nil {
			return nil
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			gd := md.Fields().ByName(protoreflect.Name(strings.ToLower(name)))
			if gd != nil && gd.Kind() == protoreflect.GroupKind && string(gd.Message().Name()) == name {
				fd = gd
			}
		}
		if fd == nil {
			return nil
		}
		fp = append(fp, fd)
		md = fd.Message()
		if fd.IsList() || fd.IsMap() {
			md = nil
		}
	}
	return fp
}

// ApplyPaths copies the fields named by paths from src to dst: for each path
// the destination field is cleared, then set from the source if the source
// has it. Intermediate messages are created in dst only when there is a value
// to copy. dst must be private to the caller; values are moved from src
// without copying, so src must be too.
func ApplyPaths(dst, src protoreflect.Message, paths []FieldPath) {
	for _, fp := range paths {
		applyPath(dst, src, fp)
	}
}

func applyPath(dst, src protoreflect.Message, fp FieldPath) {
	last := len(fp) - 1
	for i, fd := range fp[:last] {
		if !src.Has(fd) {
			// The source has nothing at or below this point, so the leaf is
			// unset there: clear it in dst, without creating empty parents.
			for _, fd := range fp[i:last] {
				if !dst.Has(fd) {
					return
				}
				dst = dst.Mutable(fd).Message()
			}
			dst.Clear(fp[last])
			return
		}
		src = src.Get(fd).Message()
		dst = dst.Mutable(fd).Message()
	}
	leaf := fp[last]
	dst.Clear(leaf)
	if src.Has(leaf) {
		dst.Set(leaf, src.Get(leaf))
	}
}

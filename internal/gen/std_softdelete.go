package gen

import (
	"fmt"
	"strconv"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Soft delete (AIP-164): a resource with a google.protobuf.Timestamp
// delete_time (AIP-148's field for soft-deleted resources) is marked by
// Delete, not removed; Get still answers it, List leaves it out unless
// show_deleted, and UndeleteX clears the mark. Marked resources are kept
// until the application removes them (the repository's Delete).

// recogniseShowDeleted takes a List request's show_deleted for a
// soft-deleted resource.
func (s *standardMethod) recogniseShowDeleted(in *protogen.Message) {
	r := s.resource
	if r.deleteTime == nil {
		return
	}
	if f := field(in, "show_deleted"); f != nil && isPlain(f, protoreflect.BoolKind) {
		s.showDeleted = f
		s.notes = append(s.notes, fmt.Sprintf("soft delete (AIP-164): deleted %s resources (%s set) are left out unless %s", r.msg.Desc.Name(), r.deleteTime.Desc.Name(), f.Desc.Name()))
		return
	}
	s.notes = append(s.notes, fmt.Sprintf("soft delete (AIP-164): deleted %s resources (%s set) are left out", r.msg.Desc.Name(), r.deleteTime.Desc.Name()))
}

// hideDeleted appends to the filters fv the condition that leaves
// soft-deleted resources out of a List (unless show_deleted).
func (w *methodWriter) hideDeleted(fv string) {
	r := w.std.resource
	if r.deleteTime == nil {
		return
	}
	where := fv + " = append(" + fv + ", " + w.id(svcstorePackage, "Where") + "(" + strconv.Quote("NOT "+string(r.deleteTime.Desc.Name())+":*") + "))"
	if f := w.std.showDeleted; f != nil {
		w.P("if !", w.get(w.req, f), " {")
		w.P(where)
		w.P("}")
		return
	}
	w.P(where)
}

func softDeleteNote(r *resourceModel) string {
	return fmt.Sprintf("soft delete (AIP-164): the %s is marked deleted (%s set to now) and kept, not removed: Get still answers it, List leaves it out, an Undelete method restores it; deleting it again is NotFound", r.msg.Desc.Name(), r.deleteTime.Desc.Name())
}

// softDelete writes the body of a Delete of a soft-deleted resource after
// the checks: read it, refuse one already marked, mark it (conditional on
// the etag sent, or on the one read).
func (w *methodWriter) softDelete(etag string) {
	r := w.std.resource
	cur := w.v.of("cur")
	w.P(cur, ", ", w.err, " := ", w.repo, ".Get(", w.freshCtx(), ", ", w.requestKey(), ")")
	if a := w.std.allowMissing; a != nil && w.std.out.empty {
		w.P("if ", w.id(statusPackage, "Code"), "(", w.err, ") == ", w.id(codesPackage, "NotFound"), " && ", w.get(w.req, a), " {")
		w.P("return ", w.a.newMessage(w.std.out.msg), ", nil")
		w.P("}")
	}
	w.onError("nil, ")
	w.P("if ", w.get(cur, r.deleteTime), " != nil {")
	w.P("return nil, ", w.id(statusPackage, "Errorf"), "(", w.id(codesPackage, "NotFound"), ", ", strconv.Quote(string(r.msg.Desc.Name())+" %q is deleted already"), ", ", w.requestKey(), ")")
	w.P("}")
	fields := []string{r.key.GoName, w.get(cur, r.key), r.deleteTime.GoName, w.id(timestampPackage, "Now") + "()"}
	if r.etag != nil {
		e := w.v.of("etag")
		w.P(e, " := ", etag)
		w.P("if ", e, ` == "" {`)
		w.P("// Conditional on what was read: a concurrent write is Aborted, not overwritten.")
		w.P(e, " = ", w.get(cur, r.etag))
		w.P("}")
		fields = append(fields, r.etag.GoName, e)
	}
	mask := "&" + w.id(fieldmaskPackage, "FieldMask") + "{Paths: []string{" + strconv.Quote(string(r.deleteTime.Desc.Name())) + "}}"
	w.respond(w.repo + ".Update(" + w.ctx + ", " + w.a.newMessage(r.msg, fields...) + ", " + mask + ")")
}

// undeleteShape serves UndeleteX (AIP-164): a request holding the key of a
// soft-deleted resource (and an optional etag), answered with the
// restored resource (or an Operation holding it).
type undeleteShape struct{}

func (undeleteShape) recognise(c *methodContext) (*standardMethod, string) {
	if c.kind != unary {
		return nil, fmt.Sprintf("an Undelete method is unary, and this is %s", c.kind)
	}
	in := c.m.Input
	r, out, notes := c.resultOf(c.answer)
	if r == nil {
		return nil, fmt.Sprintf("it answers %s, which is not a resource nor a message with one resource field", c.answer.Desc.Name())
	}
	if r.deleteTime == nil {
		return nil, fmt.Sprintf("%s has no google.protobuf.Timestamp delete_time, so nothing marks it deleted to undelete", r.msg.Desc.Name())
	}
	s := &standardMethod{resource: r, out: out, notes: notes}
	if s.key = requestKey(in, r); s.key == nil {
		return nil, fmt.Sprintf("%s has no field %s of the type of %s's key", in.Desc.Name(), r.key.Desc.Name(), r.msg.Desc.Name())
	}
	if etag := field(in, "etag"); etag != nil && isPlain(etag, protoreflect.StringKind) && r.etag != nil {
		s.etag = etag
	}
	s.refuse(in, rest(in, s.key, s.etag))
	s.summary = fmt.Sprintf("restores the deleted %s whose %s is the request's %s (AIP-164: clears its %s)", r.msg.Desc.Name(), r.key.Desc.Name(), s.key.Desc.Name(), r.deleteTime.Desc.Name())
	s.notes = append(s.notes, fmt.Sprintf("a %s that is not deleted is FailedPrecondition", r.msg.Desc.Name()))
	return s, ""
}

func (undeleteShape) emit(w *methodWriter) {
	s, r := w.std, w.std.resource
	w.refuseUnsupported(w.req, "nil, ")
	w.checkRequired(w.mm.m.Input, w.req, "nil, ")
	w.checkName(string(s.key.Desc.Name()), w.get(w.req, s.key), "nil, ")
	cur := w.v.of("cur")
	w.P(cur, ", ", w.err, " := ", w.repo, ".Get(", w.freshCtx(), ", ", w.requestKey(), ")")
	w.onError("nil, ")
	w.P("if ", w.get(cur, r.deleteTime), " == nil {")
	w.P("return nil, ", w.id(statusPackage, "Errorf"), "(", w.id(codesPackage, "FailedPrecondition"), ", ", strconv.Quote(string(r.msg.Desc.Name())+" %q is not deleted"), ", ", w.requestKey(), ")")
	w.P("}")
	fields := []string{r.key.GoName, w.get(cur, r.key)}
	switch {
	case r.etag != nil && s.etag != nil:
		e := w.v.of("etag")
		w.P(e, " := ", w.get(w.req, s.etag))
		w.P("if ", e, ` == "" {`)
		w.P(e, " = ", w.get(cur, r.etag))
		w.P("}")
		fields = append(fields, r.etag.GoName, e)
	case r.etag != nil:
		fields = append(fields, r.etag.GoName, w.get(cur, r.etag))
	}
	// delete_time unset in the message and named by the mask: cleared.
	mask := "&" + w.id(fieldmaskPackage, "FieldMask") + "{Paths: []string{" + strconv.Quote(string(r.deleteTime.Desc.Name())) + "}}"
	w.respond(w.repo + ".Update(" + w.ctx + ", " + w.a.newMessage(r.msg, fields...) + ", " + mask + ")")
}

package gen

import (
	"fmt"
	"strconv"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Soft delete (AIP-164): a resource with a deletion mark is marked by
// Delete, not removed; Get still answers it, List leaves it out unless
// show_deleted, and UndeleteX clears the mark. Marked resources are kept
// until the application removes them (the repository's Delete).

// softDeletion is the field that marks a resource deleted: a
// google.protobuf.Timestamp delete_time (AIP-148's field for soft-deleted
// resources), a bool deleted (IAM's Role, Alert Center's Alert, Analytics'
// Account, from before AIP-148), or a state enum (state or
// lifecycle_state) with a DELETED (or DELETE_REQUESTED) value and an
// ACTIVE one to restore (IAM's WorkloadIdentityPool, Resource Manager v2's
// Folder).
type softDeletion struct {
	field           *protogen.Field
	deleted, active *protogen.EnumValue // the state enum's values
}

// softDeletionOf returns msg's deletion mark, or nil.
func softDeletionOf(msg *protogen.Message) *softDeletion {
	if f := timestampField(msg, "delete_time"); f != nil {
		return &softDeletion{field: f}
	}
	if f := field(msg, "deleted"); f != nil && isPlain(f, protoreflect.BoolKind) {
		return &softDeletion{field: f}
	}
	for _, name := range []string{"state", "lifecycle_state"} {
		f := field(msg, name)
		if f == nil || f.Enum == nil || !isPlain(f, protoreflect.EnumKind) {
			continue
		}
		d := &softDeletion{field: f}
		for _, v := range f.Enum.Values {
			switch v.Desc.Name() {
			case "DELETED", "DELETE_REQUESTED":
				if d.deleted == nil {
					d.deleted = v
				}
			case "ACTIVE":
				d.active = v
			}
		}
		if d.deleted != nil && d.active != nil {
			return d
		}
	}
	return nil
}

// marked says, for explanations, what a deleted resource's field holds.
func (d *softDeletion) marked() string {
	switch {
	case d.deleted != nil:
		return fmt.Sprintf("%s %s", d.field.Desc.Name(), d.deleted.Desc.Name())
	case d.field.Desc.Kind() == protoreflect.BoolKind:
		return fmt.Sprintf("%s true", d.field.Desc.Name())
	}
	return fmt.Sprintf("%s set", d.field.Desc.Name())
}

// restored says, for explanations, what Undelete sets the field to.
func (d *softDeletion) restored() string {
	if d.active != nil {
		return fmt.Sprintf("sets its %s to %s", d.field.Desc.Name(), d.active.Desc.Name())
	}
	return fmt.Sprintf("clears its %s", d.field.Desc.Name())
}

// notDeleted is the svcstore filter (AIP-160) of the resources not marked.
func (d *softDeletion) notDeleted() string {
	switch {
	case d.deleted != nil:
		return fmt.Sprintf("%s != %s", d.field.Desc.Name(), d.deleted.Desc.Name())
	case d.field.Desc.Kind() == protoreflect.BoolKind:
		return fmt.Sprintf("%s = false", d.field.Desc.Name())
	}
	return fmt.Sprintf("NOT %s:*", d.field.Desc.Name())
}

// isDeleted is the Go condition that the resource expr is marked, or with
// deleted false, that it is not.
func (w *methodWriter) isDeleted(expr string, deleted bool) string {
	d := w.std.resource.deletion
	mark := w.get(expr, d.field)
	switch {
	case d.deleted != nil && deleted:
		return mark + " == " + w.id(d.deleted.GoIdent.GoImportPath, d.deleted.GoIdent.GoName)
	case d.deleted != nil:
		return mark + " != " + w.id(d.deleted.GoIdent.GoImportPath, d.deleted.GoIdent.GoName)
	case d.field.Desc.Kind() == protoreflect.BoolKind && deleted:
		return mark
	case d.field.Desc.Kind() == protoreflect.BoolKind:
		return "!" + mark
	case deleted:
		return mark + " != nil"
	}
	return mark + " == nil"
}

// markValue is the Go value Delete sets the field to.
func (w *methodWriter) markValue() string {
	d := w.std.resource.deletion
	switch {
	case d.deleted != nil:
		return w.id(d.deleted.GoIdent.GoImportPath, d.deleted.GoIdent.GoName)
	case d.field.Desc.Kind() == protoreflect.BoolKind:
		return "true"
	}
	return w.id(timestampPackage, "Now") + "()"
}

// recogniseShowDeleted takes a List request's show_deleted for a
// soft-deleted resource.
func (s *standardMethod) recogniseShowDeleted(in *protogen.Message) {
	r := s.resource
	if r.deletion == nil {
		return
	}
	if f := field(in, "show_deleted"); f != nil && isPlain(f, protoreflect.BoolKind) {
		s.showDeleted = f
		s.notes = append(s.notes, fmt.Sprintf("soft delete (AIP-164): deleted %s resources (%s) are left out unless %s", r.msg.Desc.Name(), r.deletion.marked(), f.Desc.Name()))
		return
	}
	s.notes = append(s.notes, fmt.Sprintf("soft delete (AIP-164): deleted %s resources (%s) are left out", r.msg.Desc.Name(), r.deletion.marked()))
}

// hideDeleted appends to the filters fv the condition that leaves
// soft-deleted resources out of a List (unless show_deleted).
func (w *methodWriter) hideDeleted(fv string) {
	r := w.std.resource
	if r.deletion == nil {
		return
	}
	where := fv + " = append(" + fv + ", " + w.id(svcstorePackage, "Where") + "(" + strconv.Quote(r.deletion.notDeleted()) + "))"
	if f := w.std.showDeleted; f != nil {
		w.P("if !", w.get(w.req, f), " {")
		w.P(where)
		w.P("}")
		return
	}
	w.P(where)
}

func softDeleteNote(r *resourceModel) string {
	mark := r.deletion.marked()
	if r.deletion.field.Desc.Kind() == protoreflect.MessageKind {
		mark += " to now"
	}
	return fmt.Sprintf("soft delete (AIP-164): the %s is marked deleted (%s) and kept, not removed: Get still answers it, List leaves it out, an Undelete method restores it; deleting it again is NotFound", r.msg.Desc.Name(), mark)
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
	w.P("if ", w.isDeleted(cur, true), " {")
	w.P("return nil, ", w.id(statusPackage, "Errorf"), "(", w.id(codesPackage, "NotFound"), ", ", strconv.Quote(string(r.msg.Desc.Name())+" %q is deleted already"), ", ", w.requestKey(), ")")
	w.P("}")
	fields := []string{r.key.GoName, w.get(cur, r.key), r.deletion.field.GoName, w.markValue()}
	if r.etag != nil {
		e := w.v.of("etag")
		w.P(e, " := ", etag)
		w.P("if ", e, ` == "" {`)
		w.P("// Conditional on what was read: a concurrent write is Aborted, not overwritten.")
		w.P(e, " = ", w.get(cur, r.etag))
		w.P("}")
		fields = append(fields, r.etag.GoName, e)
	}
	mask := "&" + w.id(fieldmaskPackage, "FieldMask") + "{Paths: []string{" + strconv.Quote(string(r.deletion.field.Desc.Name())) + "}}"
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
		if !isEmptyMessage(c.answer) {
			return nil, fmt.Sprintf("it answers %s, which is not empty, a resource, nor a message with one resource field", c.answer.Desc.Name())
		}
		out = resultMapping{msg: c.answer, empty: true} // Logging's UndeleteBucket
		var why string
		if r, why = c.emptyAnswerResource(in, c.answer); r == nil {
			return nil, why
		}
	}
	if r.deletion == nil {
		return nil, fmt.Sprintf("%s has no google.protobuf.Timestamp delete_time, bool deleted, nor state enum with DELETED and ACTIVE values, so nothing marks it deleted to undelete", r.msg.Desc.Name())
	}
	s := &standardMethod{resource: r, out: out, notes: notes}
	if s.key = requestKey(in, r); s.key == nil {
		return nil, fmt.Sprintf("%s has no field %s of the type of %s's key", in.Desc.Name(), r.key.Desc.Name(), r.msg.Desc.Name())
	}
	if etag := field(in, "etag"); etag != nil && isPlain(etag, protoreflect.StringKind) && r.etag != nil {
		s.etag = etag
	}
	s.refuse(in, rest(in, s.key, s.etag))
	s.summary = fmt.Sprintf("restores the deleted %s whose %s is the request's %s (AIP-164: %s)", r.msg.Desc.Name(), r.key.Desc.Name(), s.key.Desc.Name(), r.deletion.restored())
	s.notes = append(s.notes, fmt.Sprintf("%s %s that is not deleted is FailedPrecondition", article(string(r.msg.Desc.Name())), r.msg.Desc.Name()))
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
	w.P("if ", w.isDeleted(cur, false), " {")
	w.P("return nil, ", w.id(statusPackage, "Errorf"), "(", w.id(codesPackage, "FailedPrecondition"), ", ", strconv.Quote(string(r.msg.Desc.Name())+" %q is not deleted"), ", ", w.requestKey(), ")")
	w.P("}")
	fields := []string{r.key.GoName, w.get(cur, r.key)}
	if a := r.deletion.active; a != nil {
		fields = append(fields, r.deletion.field.GoName, w.id(a.GoIdent.GoImportPath, a.GoIdent.GoName))
	}
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
	// The mark named by the mask, unset (or ACTIVE) in the message: cleared.
	mask := "&" + w.id(fieldmaskPackage, "FieldMask") + "{Paths: []string{" + strconv.Quote(string(r.deletion.field.Desc.Name())) + "}}"
	w.respond(w.repo + ".Update(" + w.ctx + ", " + w.a.newMessage(r.msg, fields...) + ", " + mask + ")")
}

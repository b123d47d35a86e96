package gen

import (
	"fmt"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// deleteShape serves DeleteX: a request holding the key (and an optional
// etag), answered with an empty message, the deleted resource or a message
// wrapping it.
type deleteShape struct{}

func (deleteShape) recognise(c *methodContext) (*standardMethod, string) {
	if c.kind != unary {
		return nil, fmt.Sprintf("a Delete method is unary, and this is %s", c.kind)
	}
	in, outMsg := c.m.Input, c.answer
	r, out, notes := c.resultOf(outMsg)
	if c.ownOp != nil {
		// The service's own Operation answers it, about the resource the
		// noun names.
		r, notes = nil, nil
	}
	if r == nil {
		if !isEmptyMessage(outMsg) && c.ownOp == nil {
			return nil, fmt.Sprintf("%s is not empty, a resource, nor a message with one resource field", outMsg.Desc.Name())
		}
		out = resultMapping{msg: outMsg, empty: true}
		var why string
		if r, why = c.emptyAnswerResource(in, outMsg); r == nil {
			return nil, why
		}
	}
	s := &standardMethod{resource: r, out: out, notes: notes}
	if s.key = requestKey(in, r); s.key == nil {
		return nil, fmt.Sprintf("%s has no field %s of the type of %s's key", in.Desc.Name(), r.key.Desc.Name(), r.msg.Desc.Name())
	}
	if etag := field(in, "etag"); etag != nil && isPlain(etag, protoreflect.StringKind) && r.etag != nil {
		s.etag = etag
	}
	if v := validateOnlyOf(in); v != nil && keyKindOf(r.key) == keyString {
		s.validateOnly = v
		s.notes = append(s.notes, validateOnlyNote(v, "what the Delete would answer", "nothing is deleted"))
	}
	if a := allowMissingOf(in); a != nil && (out.empty || r.deletion == nil && out.wrap == nil) {
		s.allowMissing = a
		note := fmt.Sprintf("%s (AIP-135): deleting a %s that does not exist succeeds, and does nothing", a.Desc.Name(), r.msg.Desc.Name())
		if !out.empty {
			note += fmt.Sprintf(", answering a %s that holds only the request's %s", r.msg.Desc.Name(), r.key.Desc.Name())
		}
		s.notes = append(s.notes, note)
	}
	if f := field(in, "force"); f != nil && isPlain(f, protoreflect.BoolKind) && keyKindOf(r.key) == keyString {
		s.force = f // its note is written once the children are known (linkChildren)
	}
	s.refuse(in, rest(in, s.key, s.etag, s.validateOnly, s.allowMissing, s.force))
	if r.deletion != nil {
		s.notes = append(s.notes, softDeleteNote(r))
	}
	s.summary = fmt.Sprintf("deletes the %s whose %s is the request's %s", r.msg.Desc.Name(), r.key.Desc.Name(), s.key.Desc.Name())
	if s.etag != nil {
		s.summary += fmt.Sprintf(", if its etag is the request's %s (when set)", s.etag.Desc.Name())
	}
	return s, ""
}

// emptyAnswerResource finds the resource of a method answering the empty
// message out: the request's google.api.resource_reference names it, or
// the method's noun, or the key the request carries, or the service's
// name. When none does, it returns nil and why.
func (c *methodContext) emptyAnswerResource(in, out *protogen.Message) (*resourceModel, string) {
	r := c.referenced(in)
	if r == nil || !c.nounAgrees(r) {
		r = c.resourceNamed(c.noun)
	}
	if r == nil {
		r = c.servedWithKeyIn(in)
	}
	if r == nil && c.noun == "" {
		r = c.serviceResource()
	}
	if r == nil {
		return nil, fmt.Sprintf("it answers %s, and no resource of this service is named by the method (%q) or keyed by a field of %s", out.Desc.Name(), c.noun, in.Desc.Name())
	}
	return r, ""
}

func (deleteShape) emit(w *methodWriter) {
	w.refuseUnsupported(w.req, "nil, ")
	w.checkRequired(w.mm.m.Input, w.req, "nil, ")
	w.checkName(string(w.std.key.Desc.Name()), w.get(w.req, w.std.key), "nil, ")
	etag := `""`
	if w.std.etag != nil {
		etag = w.get(w.req, w.std.etag)
	}
	if v := w.std.validateOnly; v != nil {
		cur := w.v.of("cur")
		w.P("if ", w.get(w.req, v), " {")
		w.P("// AIP-163: every check, and nothing deleted.")
		if w.std.etag == nil && w.std.out.empty {
			cur = "_" // only its existence matters
		}
		w.P(cur, ", ", w.err, " := ", w.repo, ".Get(", w.freshCtx(), ", ", w.requestKey(), ")")
		if a := w.std.allowMissing; a != nil {
			w.P("if ", w.id(statusPackage, "Code"), "(", w.err, ") == ", w.id(codesPackage, "NotFound"), " && ", w.get(w.req, a), " {")
			if w.std.out.empty {
				w.respondValue(cur)
			} else {
				w.respondValue(w.missing())
			}
			w.P("}")
		}
		w.onError("nil, ")
		if w.std.etag != nil {
			w.P("if ", w.err, " := ", w.id(svcaipPackage, "CheckEtag"), "(", cur, ", ", w.requestKey(), ", ", w.get(cur, w.std.resource.etag), ", ", etag, "); ", w.err, " != nil {")
			w.P("return nil, ", w.err)
			w.P("}")
		}
		w.respondValue(cur)
		w.P("}")
	}
	w.deleteChildren()
	if w.std.resource.deletion != nil {
		w.softDelete(etag)
		return
	}
	call := w.repo + ".Delete(" + w.ctx + ", " + w.requestKey() + ", " + etag + ")"
	if a := w.std.allowMissing; a != nil {
		// AIP-135: a missing resource is deleted already.
		if w.std.out.empty {
			w.tolerate = w.id(statusPackage, "Code") + "(" + w.err + ") != " + w.id(codesPackage, "NotFound") + " || !" + w.get(w.req, a)
		} else {
			call = w.id(svcaipPackage, "MissingAs") + "(" + w.get(w.req, a) + ", " + w.missing() + ")(" + call + ")"
		}
	}
	w.respond(call)
}

// missing is the answer of a Delete answering the resource, with
// allow_missing, when there is none: a resource holding only the key.
func (w *methodWriter) missing() string {
	r := w.std.resource
	return w.a.newMessage(r.msg, r.key.GoName, w.requestKey())
}

package gen

import "fmt"

// getShape serves GetX: a request holding the key, answered with the
// resource or a message wrapping it.
type getShape struct{}

func (getShape) recognise(c *methodContext) (*standardMethod, string) {
	if c.kind != unary {
		return nil, fmt.Sprintf("a Get method is unary, and this is %s", c.kind)
	}
	r, out, notes := c.resultOf(c.m.Output)
	if r == nil {
		return nil, c.noResult(c.m.Output)
	}
	s := &standardMethod{resource: r, out: out, notes: notes}
	if s.key = requestKey(c.m.Input, r); s.key == nil {
		return nil, fmt.Sprintf("%s has no field %s of the type of %s's key", c.m.Input.Desc.Name(), r.key.Desc.Name(), r.msg.Desc.Name())
	}
	s.readMask = readMaskOf(c.m.Input)
	if s.view = viewOf(c.m.Input); s.view != nil {
		s.notes = append(s.notes, viewNote(s.view))
	}
	s.refuse(c.m.Input, rest(c.m.Input, s.key, s.readMask, s.view))
	s.summary = fmt.Sprintf("reads the %s whose %s is the request's %s", r.msg.Desc.Name(), r.key.Desc.Name(), s.key.Desc.Name())
	if s.readMask != nil {
		s.summary += fmt.Sprintf(", with only the fields its %s names (AIP-157)", s.readMask.Desc.Name())
	}
	return s, ""
}

func (getShape) emit(w *methodWriter) {
	w.refuseUnsupported(w.req, "nil, ")
	w.checkRequired(w.mm.m.Input, w.req, "nil, ")
	w.checkName(string(w.std.key.Desc.Name()), w.get(w.req, w.std.key), "nil, ")
	w.checkView("nil, ")
	if w.std.readMask == nil && w.std.view == nil {
		w.respond(w.repo + ".Get(" + w.ctx + ", " + w.requestKey() + ")")
		return
	}
	if w.std.readMask != nil {
		w.checkReadMask("nil, ")
	}
	res := w.v.of("res")
	w.P(res, ", ", w.err, " := ", w.repo, ".Get(", w.ctx, ", ", w.requestKey(), ")")
	w.onError("nil, ")
	answer := res
	if w.std.view != nil {
		answer = w.id(svcaipPackage, "ApplyView") + "(" + w.get(w.req, w.std.view) + ", " + answer + ")"
	}
	if w.std.readMask != nil {
		answer = w.id(svcaipPackage, "ReadMask") + "(" + w.get(w.req, w.std.readMask) + ", " + answer + ")"
	}
	w.respondValue(answer)
}

package gen

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// createShape serves CreateX: the resource in a field of the request, or
// flat fields of it, with an optional client-chosen id and parent; answered
// with the resource or a message wrapping it.
type createShape struct{}

func (createShape) recognise(c *methodContext) (*standardMethod, string) {
	if c.kind != unary {
		return nil, fmt.Sprintf("a Create method is unary (client streams are BatchCreate), and this is %s", c.kind)
	}
	r, out, notes := c.resultOf(c.answer)
	if r == nil {
		return nil, c.noResult(c.answer)
	}
	im, reason := readInputUnder(c.m.Input, r, createCollection(r, c.noun), c.noun)
	if im == nil {
		return nil, reason
	}
	s := &standardMethod{resource: r, out: out, input: im, parent: im.parent, collection: im.collection, warnings: im.guess}
	s.notes = append(append(notes, im.notes...), im.guess...)
	if im.validateOnly != nil {
		s.validateOnly = im.validateOnly
		s.notes = append(s.notes, validateOnlyNote(im.validateOnly, "the "+string(r.msg.Desc.Name())+" as it would be created", "nothing is stored"))
	}
	s.refuse(c.m.Input, im.refuse)
	s.summary = fmt.Sprintf("creates %s %s from %s", article(string(r.msg.Desc.Name())), r.msg.Desc.Name(), im.describe())
	return s, ""
}

func (createShape) emit(w *methodWriter) {
	w.refuseUnsupported(w.req, "nil, ")
	msg := w.emitInput(w.req, "nil, ")
	if w.std.validateOnly != nil {
		r := w.std.resource
		w.P("if ", w.get(w.req, w.std.validateOnly), " {")
		w.P("// AIP-163: every check, and nothing stored.")
		w.P("if ", w.err, " := ", w.id(svcaipPackage, "ValidateCreate"), "(", w.ctx, ", ", w.repo, ".Get, ", w.get(msg, r.key), "); ", w.err, " != nil {")
		w.P("return nil, ", w.err)
		w.P("}")
		w.respondValue(msg)
		w.P("}")
	}
	w.respond(w.repo + ".Create(" + w.ctx + ", " + msg + ")")
}

// batchCreateShape serves BatchCreateXs, BulkCreateXs and ImportXs: a
// client stream of resources or of Create requests, stored all or nothing,
// answered with the created resources and/or their count, or an empty
// message.
type batchCreateShape struct{}

func (batchCreateShape) recognise(c *methodContext) (*standardMethod, string) {
	if c.kind == unary && c.verb == "BatchCreate" {
		// AIP-233: a unary batch of Create requests (std_batch.go).
		return batchShape{createShape{}}.recognise(c)
	}
	if c.kind != clientStreaming {
		return nil, fmt.Sprintf("a batch create streams its resources from the client, and this is %s", c.kind)
	}
	in, outMsg := c.m.Input, c.m.Output
	// The streamed message is the resource, or holds it, or is a Create
	// request of the resource the method names.
	var r *resourceModel
	if ir := c.resources.resource(in); ir != nil && c.nounAgrees(ir) {
		r = ir
	}
	for _, f := range in.Fields {
		if fr := c.resources.resource(f.Message); r == nil && isSingularMessage(f) && fr != nil && c.nounAgrees(fr) {
			r = fr
		}
	}
	if r == nil {
		r = c.resourceNamed(c.noun)
	}
	if r == nil && c.noun == "" {
		r = c.serviceResource()
	}
	if r == nil {
		return nil, fmt.Sprintf("no resource is named by the method (%q) or carried by %s", c.noun, in.Desc.Name())
	}
	im, reason := readInput(in, r)
	if im == nil {
		return nil, reason
	}
	s := &standardMethod{resource: r, input: im, parent: im.parent, out: resultMapping{msg: outMsg}, warnings: im.guess}
	s.notes = append(im.notes, im.guess...)
	if im.validateOnly != nil {
		// A batch is stored all or nothing, once the stream ends: one
		// message cannot ask for nothing.
		im.refuse = append(im.refuse, im.validateOnly)
	}
	for _, f := range outMsg.Fields {
		switch {
		case f.Desc.IsList() && isMessage(f.Message, r.msg.Desc.FullName()) && s.items == nil:
			s.items = f
		case isCount(f) && s.count == nil:
			s.count = f
		default:
			s.notes = append(s.notes, fmt.Sprintf("%s.%s is left unset", outMsg.Desc.Name(), f.Desc.Name()))
		}
	}
	if s.items == nil && s.count == nil && !isEmptyMessage(outMsg) {
		return nil, fmt.Sprintf("%s is not empty and has no repeated %s field nor a count", outMsg.Desc.Name(), r.msg.Desc.Name())
	}
	s.refuse(in, im.refuse)
	s.summary = fmt.Sprintf("creates every %s the client streams (from %s), all or nothing, once the stream ends; a batch whose answer would exceed svcserver.MaxBatchBytes is refused with codes.ResourceExhausted before anything is stored", r.msg.Desc.Name(), im.describe())
	return s, ""
}

// isCount reports whether f is a singular integer field named like a count
// (count, created_count, total_count).
func isCount(f *protogen.Field) bool {
	if f.Desc.IsList() || !strings.Contains(string(f.Desc.Name()), "count") {
		return false
	}
	switch f.Desc.Kind() {
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		return true
	}
	return false
}

func (batchCreateShape) emit(w *methodWriter) {
	s, r := w.std, w.std.resource
	msgs, budget, in := w.v.of("msgs"), w.v.of("budget"), w.v.of("in")
	w.P("var ", msgs, " []*", r.msg.GoIdent)
	w.P("var ", budget, " ", w.id(svcserverPackage, "BatchBudget"))
	w.P("for {")
	w.P(in, ", ", w.err, " := ", w.stream, ".Recv()")
	w.P("if ", w.err, " == ", w.id(ioPackage, "EOF"), " {")
	w.P("break")
	w.P("}")
	w.onError("")
	w.refuseUnsupported(in, "")
	msg := w.emitInput(in, "")
	w.P("if ", w.err, " := ", budget, ".Add(", msg, "); ", w.err, " != nil {")
	w.P("return ", w.err)
	w.P("}")
	w.P(msgs, " = append(", msgs, ", ", msg, ")")
	w.P("}")
	created := "_"
	if s.items != nil || s.count != nil {
		created = w.v.of("created")
	}
	w.P(created, ", ", w.err, " := ", w.repo, ".CreateBatch(", w.callCtx, ", ", msgs, ")")
	w.onError("")
	var fields []string
	if s.items != nil {
		fields = append(fields, s.items.GoName, created)
	}
	if s.count != nil {
		fields = append(fields, s.count.GoName, s.count.Desc.Kind().String()+"(len("+created+"))")
	}
	w.P("return ", w.stream, ".SendAndClose(", w.a.newMessage(s.out.msg, fields...), ")")
}

package gen

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// AIP-155: a unary standard method whose request has a `string request_id`
// is carried out once per id. The skeleton's method begins with a call of
// svcaip.Replay that runs the method itself (on a copy of the request
// without the id) the first time, and answers the recorded response to
// repetitions; the records live in a repository of the skeleton's set.

// honourRequestID takes a unary method's request_id out of the fields it
// refuses, and says what it does instead.
func (s *standardMethod) honourRequestID(c *methodContext) {
	if c.kind != unary {
		return
	}
	emptied := map[int]bool{}
	for i, r := range s.refusals {
		if r.msg != c.m.Input {
			continue
		}
		at := slices.IndexFunc(r.fields, replayable)
		if at < 0 || s.requestID != nil {
			continue
		}
		s.requestID = r.fields[at]
		keep := slices.Delete(slices.Clone(r.fields), at, at+1)
		s.refusals[i].fields = keep
		s.unsupported = slices.DeleteFunc(s.unsupported, func(f *protogen.Field) bool { return f == s.requestID })
		if len(keep) == 0 {
			emptied[r.note] = true
		} else {
			s.notes[r.note] = refusalNote(r.msg, keep)
		}
	}
	if s.requestID == nil {
		return
	}
	var notes []string
	for i, n := range s.notes {
		if !emptied[i] {
			notes = append(notes, n)
		}
	}
	s.notes = append(notes, fmt.Sprintf("request_id (AIP-155): a request repeated with the same %s is carried out once and answers the first one's response, for 24 hours after it succeeded (svcaip.RequestIDWindow; across replicas when they share the Requests repository); the same id with another request is InvalidArgument; an id is at most 64 printable ASCII characters without '/' (a UUID fits)",
		c.m.Input.Desc.Name()+"."+s.requestID.Desc.Name()))
}

// replayable is a request_id the skeleton can clear on a copy of the
// request: a plain singular string.
func replayable(f *protogen.Field) bool {
	return f.Desc.Name() == "request_id" && f.Desc.Kind() == protoreflect.StringKind && !f.Desc.IsList() &&
		!f.Desc.HasPresence() && f.Oneof == nil
}

// requestsField is the field of the repository set that keeps request
// records.
func (sm *serviceModel) requestsField() string {
	return sm.freeField("Requests", "AIP155")
}

// hasRequestIDs reports whether a method of the service honours a
// request_id.
func (sm *serviceModel) hasRequestIDs() bool {
	for _, mm := range sm.methods {
		if mm.std != nil && mm.std.requestID != nil {
			return true
		}
	}
	return false
}

// requestsRepository is the repository set's field of request records.
func requestsRepository(g *protogen.GeneratedFile, sm *serviceModel) repositoryFieldView {
	return repositoryFieldView{
		Field:       sm.requestsField(),
		Type:        g.QualifiedGoIdent(svcaipPackage.Ident("Requests")),
		NewInMemory: g.QualifiedGoIdent(svcaipPackage.Ident("NewRequests")) + "(opts...)",
	}
}

// replayPrologue writes the start of a method that honours a request_id:
// with an id, the method runs through svcaip.Replay on a copy of the
// request without it; without the Requests repository, an id is refused.
func (w *methodWriter) replayPrologue() {
	f := w.std.requestID
	id, r := w.v.of("id"), w.v.of("r")
	field := w.recv + ".repos." + w.sm.requestsField()
	w.P("if ", id, " := ", w.get(w.req, f), "; ", id, " != \"\" {")
	w.P("if ", field, " == nil {")
	w.P("return nil, ", w.id(svcserverPackage, "RefuseFields"), "(", w.req, ", ", fmt.Sprintf("%q", f.Desc.Name()), ")")
	w.P("}")
	w.P("// AIP-155: carried out once per id; repetitions answer the first response.")
	w.P("return ", w.id(svcaipPackage, "Replay"), "(", w.ctx, ", ", field, ", ", w.mm.fullMethod, ", ", id, ", ", w.req, ", func(", w.ctx, " ", w.id(contextPackage, "Context"), ") (*", w.g.QualifiedGoIdent(w.mm.m.Output.GoIdent), ", error) {")
	w.P(r, " := ", w.id(protoPackage, "CloneOf"), "(", w.req, ")")
	w.P(r, ".", f.GoName, " = \"\"")
	w.P("return ", w.recv, ".", w.mm.m.GoName, "(", w.ctx, ", ", r, ")")
	w.P("})")
	w.P("}")
}

package gen

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// methodWriter writes the body of one standard method, as text for the
// server template: the names of its receiver, parameters and locals (free
// of the imports the body uses), and the small pieces every shape needs.
// Identifiers go through g.QualifiedGoIdent, so protogen writes the imports.
type methodWriter struct {
	g   *protogen.GeneratedFile
	buf strings.Builder
	sm  *serviceModel
	mm  *methodModel
	std *standardMethod
	a   goAccess
	v   localNames

	recv, ctx, req, stream, err string
	repo                        string // s.repos.Book
	// callCtx is the context repository calls take: ctx, or the stream's.
	callCtx string
	// tolerate, when set, is the condition under which the error of a call
	// whose answer is empty is an error (allow_missing: not NotFound).
	tolerate string
}

func newMethodWriter(g *protogen.GeneratedFile, home protogen.GoImportPath, sm *serviceModel, mm *methodModel) *methodWriter {
	std := mm.std
	msgs := []*protogen.Message{mm.m.Input, mm.m.Output, std.resource.msg}
	if lro := std.out.lro; lro != nil {
		msgs = append(msgs, lro.response)
		if lro.metadata != nil {
			msgs = append(msgs, lro.metadata)
		}
	}
	for _, p := range append(append([]fieldMapping(nil), std.sets...), std.inputFields()...) {
		for _, f := range p.path {
			msgs = append(msgs, f.Message)
		}
	}
	v := newLocalNames(home, msgs...)
	w := &methodWriter{
		g: g, sm: sm, mm: mm, std: std, a: goAccess{g}, v: v,
		recv: v.of("s"), ctx: v.of("ctx"), req: v.of("req"), stream: v.of("stream"), err: v.of("err"),
	}
	w.repo = w.recv + ".repos." + sm.repoField(std.resource)
	w.callCtx = w.ctx
	if mm.kind != unary {
		w.callCtx = w.stream + ".Context()"
	}
	return w
}

// P writes a line, as protogen.GeneratedFile.P does: GoIdents qualified,
// everything else as fmt.Print writes it.
func (w *methodWriter) P(v ...any) {
	for _, x := range v {
		if id, ok := x.(protogen.GoIdent); ok {
			w.buf.WriteString(w.g.QualifiedGoIdent(id))
			continue
		}
		fmt.Fprint(&w.buf, x)
	}
	w.buf.WriteByte('\n')
}

// id returns the qualified Go identifier of an import.
func (w *methodWriter) id(path protogen.GoImportPath, name string) string {
	return w.g.QualifiedGoIdent(path.Ident(name))
}

// get returns the getter call of field f on recv.
func (w *methodWriter) get(recv string, f *protogen.Field) string {
	return recv + ".Get" + f.GoName + "()"
}

// keyText returns the repository key (a string) of the key value expr of
// field f: the value itself for strings, its decimal form for integers.
func (w *methodWriter) keyText(expr string, f *protogen.Field) string {
	switch keyKindOf(f) {
	case keySigned:
		if f.Desc.Kind() == protoreflect.Int64Kind || f.Desc.Kind() == protoreflect.Sint64Kind || f.Desc.Kind() == protoreflect.Sfixed64Kind {
			return w.id(strconvPackage, "FormatInt") + "(" + expr + ", 10)"
		}
		return w.id(strconvPackage, "FormatInt") + "(int64(" + expr + "), 10)"
	case keyUnsigned:
		if f.Desc.Kind() == protoreflect.Uint64Kind || f.Desc.Kind() == protoreflect.Fixed64Kind {
			return w.id(strconvPackage, "FormatUint") + "(" + expr + ", 10)"
		}
		return w.id(strconvPackage, "FormatUint") + "(uint64(" + expr + "), 10)"
	}
	return expr
}

// requestKey is the repository key of the request's key field.
func (w *methodWriter) requestKey() string {
	return w.keyText(w.get(w.req, w.std.key), w.std.key)
}

// onError writes: if err != nil { return <results>err }.
func (w *methodWriter) onError(results string) {
	w.P("if ", w.err, " != nil {")
	w.P("return ", results, w.err)
	w.P("}")
}

// errResults is what a unary method returns before its error.
func (w *methodWriter) errResults() string {
	if w.mm.kind == unary {
		return "nil, "
	}
	return ""
}

// refuseUnsupported writes the check that refuses a request msg that sets a
// field the repository cannot honour.
func (w *methodWriter) refuseUnsupported(msg string, results string) {
	if len(w.std.unsupported) == 0 {
		return
	}
	var names []string
	for _, f := range w.std.unsupported {
		names = append(names, strconv.Quote(string(f.Desc.Name())))
	}
	w.P("if ", w.err, " := ", w.id(svcserverPackage, "RefuseFields"), "(", msg, ", ", strings.Join(names, ", "), "); ", w.err, " != nil {")
	w.P("return ", results, w.err)
	w.P("}")
}

// respond writes the return of a unary method whose answer is the resource
// held in res (which may be the result of a call that also returns err).
func (w *methodWriter) respond(call string) {
	out := w.std.out
	if out.lro != nil {
		w.respondOperation(call)
		return
	}
	if out.ownOp != nil {
		target := ""
		if out.empty {
			target = w.requestKey()
		}
		w.respondOwnOperation(call, target, true)
		return
	}
	switch {
	case out.empty:
		w.P("if _, ", w.err, " := ", call, "; ", w.failed(), " {")
		w.P("return nil, ", w.err)
		w.P("}")
		w.P("return ", w.a.newMessage(out.msg), ", nil")
	case out.wrap == nil:
		w.P("return ", call)
	default:
		res := w.v.of("res")
		w.P(res, ", ", w.err, " := ", call)
		w.onError("nil, ")
		w.P("return ", w.a.newMessage(out.msg, out.wrap.GoName, res), ", nil")
	}
}

// failed is the condition under which the error of an empty answer's call
// fails the method.
func (w *methodWriter) failed() string {
	if w.tolerate != "" {
		return w.err + " != nil && (" + w.tolerate + ")"
	}
	return w.err + " != nil"
}

// isSet returns the Go condition that field f of recv is populated: has a
// value for fields with presence, is not the zero value otherwise.
func (w *methodWriter) isSet(recv string, f *protogen.Field) string {
	switch {
	case f.Desc.IsList() || f.Desc.IsMap() || f.Desc.Kind() == protoreflect.BytesKind && !f.Desc.HasPresence():
		return "len(" + w.get(recv, f) + ") > 0"
	case f.Message != nil:
		return w.get(recv, f) + " != nil"
	case f.Desc.HasPresence():
		if isOpen(f.Parent) {
			return recv + "." + f.GoName + " != nil"
		}
		return recv + ".Has" + f.GoName + "()"
	}
	switch f.Desc.Kind() {
	case protoreflect.StringKind:
		return w.get(recv, f) + ` != ""`
	case protoreflect.BoolKind:
		return w.get(recv, f)
	}
	return w.get(recv, f) + " != 0"
}

// setPath writes the statements that set the resource field at path on msg
// (a resource of the open API) to value. A two-step path (category.id) sets
// the key of a message field, creating it.
func (w *methodWriter) setPath(msg string, path []*protogen.Field, value string) {
	if len(path) == 1 {
		w.P(w.a.set(msg, path[0].Parent, path[0], value))
		return
	}
	w.P(w.a.set(msg, path[0].Parent, path[0], w.a.newMessage(path[0].Message, path[1].GoName, value)))
}

// valueOf returns the expression reading request field f of recv as the
// value of resource field res: through the getter, or the pointer itself
// where both have presence.
func (w *methodWriter) valueOf(recv string, f, res *protogen.Field) string {
	if f.Message == nil && f.Desc.HasPresence() && res.Desc.HasPresence() && isOpen(f.Parent) && isOpen(res.Parent) && !f.Desc.IsList() {
		return recv + "." + f.GoName
	}
	return w.get(recv, f)
}

// goAccess writes Go that reads or writes a message's fields, in the form its
// Go API level allows: direct fields (open) or accessors (hybrid, opaque).
type goAccess struct{ g *protogen.GeneratedFile }

// newMessage writes a composite literal of msg with the given fields
// (GoName: expression): &T{...} in the open API, T_builder{...}.Build()
// otherwise.
func (a goAccess) newMessage(msg *protogen.Message, fields ...string) string {
	var body []string
	for i := 0; i+1 < len(fields); i += 2 {
		body = append(body, fields[i]+": "+fields[i+1])
	}
	t := a.g.QualifiedGoIdent(msg.GoIdent)
	if isOpen(msg) {
		return "&" + t + "{" + strings.Join(body, ", ") + "}"
	}
	return a.g.QualifiedGoIdent(msg.GoIdent.GoImportPath.Ident(msg.GoIdent.GoName+"_builder")) + "{" + strings.Join(body, ", ") + "}.Build()"
}

// set writes a statement setting a singular field.
func (a goAccess) set(recv string, msg *protogen.Message, f *protogen.Field, value string) string {
	if isOpen(msg) {
		return recv + "." + f.GoName + " = " + value
	}
	return recv + ".Set" + f.GoName + "(" + value + ")"
}

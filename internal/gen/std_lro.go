package gen

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Long-running operations (AIP-151). A Create, Update or Delete that
// answers google.longrunning.Operation, with
// (google.longrunning.operation_info) naming its response and metadata
// types, is recognised as if it answered the response type; the skeleton
// does the work through the repository at once and answers a done
// Operation: the result (or google.protobuf.Empty) packed as its response,
// an empty message of the metadata type as its metadata, kept in the
// skeleton's repository of operations, which svclro serves as
// google.longrunning.Operations. The client wrapper gets <Method>AndWait,
// which waits for the operation and returns the typed response and metadata.

const (
	operationName   protoreflect.FullName = "google.longrunning.Operation"
	emptyName       protoreflect.FullName = "google.protobuf.Empty"
	svclroPackage                         = protogen.GoImportPath("github.com/svcgen/protoc-gen-svc/svclro")
	longrunningpbGo                       = protogen.GoImportPath("cloud.google.com/go/longrunning/autogen/longrunningpb")
	anyGo                                 = protogen.GoImportPath("google.golang.org/protobuf/types/known/anypb")
)

// lroAnswer is how a method answers its Operation.
type lroAnswer struct {
	response *protogen.Message // operation_info.response_type
	// metadata is operation_info.metadata_type, or nil when it is declared
	// in a file the method's file does not import: then metadataName is
	// its full name, the server packs svclro.EmptyMetadata of it, and the
	// wrapper answers the metadata as an Any. Looking for it among the
	// other files of the request would make the output depend on them.
	metadata     *protogen.Message
	metadataName protoreflect.FullName
	// guessed says the method has no operation_info: the response is the
	// resource its noun names (google.protobuf.Empty for a Delete), and
	// the metadata google.protobuf.Empty.
	guessed bool
}

// lroVerbs are the standard verbs served when they answer an Operation.
var lroVerbs = map[string]bool{"Create": true, "Update": true, "Delete": true, "Undelete": true, "BatchCreate": true, "BatchUpdate": true, "BatchDelete": true}

// operationAnswer reads m's operation_info when m answers an Operation: the
// message to recognise the method by (the response type), and how the
// Operation is made. For any other method it returns m's output and nil.
// A reason is returned when m answers an Operation that cannot be served.
func (c *methodContext) operationAnswer(verb string) (*protogen.Message, *lroAnswer, string) {
	out := c.m.Output
	if out.Desc.FullName() != operationName {
		if o := c.ownOperationOf(verb, out); o != nil {
			// A Delete is recognised by the Operation itself, which
			// deleteShape takes for an empty answer.
			answer := out
			if verb != "Delete" {
				answer = nil
				if r := c.resourceNamed(c.noun); r != nil {
					answer = r.msg
				}
			}
			if answer != nil {
				c.ownOp = o
				return answer, nil, ""
			}
		}
		return out, nil, ""
	}
	info, err := readOperationInfoOption(c.m.Desc.Options())
	noInfo := err == nil && info == nil
	if noInfo && c.noun == "Operation" {
		// GetOperation reads an Operation as the resource it is, as
		// ListOperations and DeleteOperation do (google.longrunning.Operations),
		// and so do Container Analysis v1alpha1's Create and UpdateOperation.
		return out, nil, ""
	}
	if !lroVerbs[verb] {
		return nil, nil, fmt.Sprintf("it answers %s, and only Create, Update, Delete and Undelete are served as long-running operations", operationName)
	}
	lro, reason := readOperationInfo(c.m, c.scope)
	if lro == nil {
		if noInfo {
			if lro = c.guessOperationTypes(verb); lro != nil {
				return lro.response, lro, ""
			}
		}
		return nil, nil, reason
	}
	return lro.response, lro, ""
}

// guessOperationTypes is how a method that answers an Operation without
// (google.longrunning.operation_info), as APIs from before AIP-151 made it
// required declare them (AI Platform's ml.v1, Firestore admin v1beta1), is
// served: its response is the resource the method's noun names (or
// google.protobuf.Empty for a Delete), its metadata google.protobuf.Empty.
// Or nil, when the noun names no resource in the file's scope, or for a
// batch.
func (c *methodContext) guessOperationTypes(verb string) *lroAnswer {
	empty := c.scope.byFullName[emptyName]
	if empty == nil || strings.HasPrefix(verb, "Batch") {
		// (A batch's response is a message of its own, which no noun names.)
		return nil
	}
	resp := empty
	if verb != "Delete" {
		r := c.resourceNamed(c.noun)
		if r == nil {
			return nil
		}
		resp = r.msg
	}
	return &lroAnswer{response: resp, metadata: empty, metadataName: emptyName, guessed: true}
}

// readOperationInfo reads the (google.longrunning.operation_info) of m,
// which answers an Operation, or says why it cannot be used.
func readOperationInfo(m *protogen.Method, scope *fileScope) (*lroAnswer, string) {
	info, err := readOperationInfoOption(m.Desc.Options())
	if err != nil {
		return nil, fmt.Sprintf("its option (google.longrunning.operation_info) cannot be read: %v", err)
	}
	if info == nil {
		return nil, fmt.Sprintf("it answers %s without the option (google.longrunning.operation_info) naming the response and metadata types (AIP-151)", operationName)
	}
	resp, reason := operationType(m, scope, "response_type", info.GetResponseType())
	if resp == nil {
		return nil, reason
	}
	md, reason := operationType(m, scope, "metadata_type", info.GetMetadataType())
	if md == nil {
		name := operationTypeName(m, info.GetMetadataType())
		if !name.IsValid() {
			return nil, reason
		}
		return &lroAnswer{response: resp, metadataName: name}, ""
	}
	return &lroAnswer{response: resp, metadata: md, metadataName: md.Desc.FullName()}, ""
}

// readOperations records, for the client wrapper, how each method that
// answers an Operation declares its types (whether or not the skeleton
// serves it).
func (sm *serviceModel) readOperations(scope *fileScope) {
	for _, mm := range sm.methods {
		if mm.kind == unary && mm.m.Output.Desc.FullName() == operationName {
			mm.lro, _ = readOperationInfo(mm.m, scope)
		}
	}
}

// operationType resolves a type named by operation_info: a full name, or a
// name in the method's proto package (AIP-151), among the messages of the
// file and everything it imports.
func operationType(m *protogen.Method, scope *fileScope, option, name string) (*protogen.Message, string) {
	name = strings.TrimPrefix(name, ".")
	if name == "" {
		return nil, fmt.Sprintf("its (google.longrunning.operation_info).%s is empty (AIP-151 requires it)", option)
	}
	full := operationTypeName(m, name)
	if msg := scope.byFullName[full]; msg != nil {
		return msg, ""
	}
	if !full.IsValid() {
		return nil, fmt.Sprintf("its (google.longrunning.operation_info).%s %q is not a message name", option, name)
	}
	return nil, fmt.Sprintf("its (google.longrunning.operation_info).%s %q names no message of the file or its imports (looked for %s)", option, name, full)
}

// operationTypeName is the full name operation_info's name stands for: a
// full name, or a name in the method's proto package (AIP-151).
func operationTypeName(m *protogen.Method, name string) protoreflect.FullName {
	name = strings.TrimPrefix(name, ".")
	if !strings.Contains(name, ".") {
		return m.Desc.ParentFile().Package().Append(protoreflect.Name(name))
	}
	return protoreflect.FullName(name)
}

// metadataNote says how the metadata type is known, when the file does not
// import it.
func (a *lroAnswer) metadataNote() string {
	if a.metadata != nil {
		return ""
	}
	return " (declared in none of this file and its imports: packed by name, svclro.EmptyMetadata)"
}

// operationNote is the doc comment's account of an Operation answer.
func (a *lroAnswer) note() string {
	what := "the result"
	if a.response.Desc.FullName() == emptyName {
		what = "google.protobuf.Empty"
	}
	note := fmt.Sprintf("it answers a google.longrunning.Operation that is already done, with %s packed as its response and an empty %s%s as its metadata, kept in the Operations repository (served as google.longrunning.Operations by svclro.Register); a skeleton without that repository answers codes.Unimplemented", what, a.metadataName, a.metadataNote())
	if a.guessed {
		note += fmt.Sprintf("; the method declares no (google.longrunning.operation_info) (AIP-151), so %s as the response and google.protobuf.Empty as the metadata are a guess from its verb and noun", a.response.Desc.FullName())
	}
	return note
}

// operationsField is the name of the repository of operations in the
// service's repository set: Operations, unless a resource's field has it.
func (sm *serviceModel) operationsField() string {
	return sm.freeField("Operations", "LongRunning")
}

// freeField returns name for a field of the repository set the skeleton
// adds (Operations, Requests, Policies), prefixed by prefix as often as a
// resource's field already has it.
func (sm *serviceModel) freeField(name, prefix string) string {
	for taken := true; taken; {
		taken = false
		for _, f := range sm.fields {
			if f == name {
				name, taken = prefix+name, true
			}
		}
	}
	return name
}

// hasOperations reports whether a method of the service answers an
// Operation from the repository.
func (sm *serviceModel) hasOperations() bool {
	for _, mm := range sm.methods {
		if mm.std != nil && mm.std.out.lro != nil {
			return true
		}
	}
	return false
}

// operationsDoc is the skeleton's paragraph on its operations.
func operationsDoc(sm *serviceModel) string {
	f := sm.operationsField()
	return "Methods that answer a google.longrunning.Operation do their work at once and\n" +
		"keep the done Operation in the " + f + " repository; serve\n" +
		"google.longrunning.Operations from it with svclro.Register(grpcServer,\n" +
		"skeleton.Repositories()." + f + "), or answer an Operation that is not done\n" +
		"yet from your own method (svclro.Start) and finish it later (svclro.Complete,\n" +
		"svclro.Fail)."
}

// operationsRepository is the field of the repository set that keeps the
// service's operations.
func operationsRepository(g *protogen.GeneratedFile, sm *serviceModel) repositoryFieldView {
	return repositoryFieldView{
		Field:       sm.operationsField(),
		Type:        g.QualifiedGoIdent(svclroPackage.Ident("Repository")),
		NewInMemory: g.QualifiedGoIdent(svclroPackage.Ident("NewMemory")) + "(opts...)",
	}
}

// operationsGuard writes the check that answers Unimplemented before any
// work when the skeleton has no repository of operations.
func (w *methodWriter) operationsGuard() {
	w.P("if ", w.recv, ".repos.", w.sm.operationsField(), " == nil {")
	w.P("return ", unimplementedResult(w.g, w.mm))
	w.P("}")
}

// respondOperation writes the return of a method answering an Operation:
// the result of call (a repository call returning the resource and an
// error) packed into a done Operation.
func (w *methodWriter) respondOperation(call string) {
	out, lro := w.std.out, w.std.out.lro
	var res string
	switch {
	case out.empty:
		w.P("if _, ", w.err, " := ", call, "; ", w.failed(), " {")
		w.P("return nil, ", w.err)
		w.P("}")
		res = w.a.newMessage(out.msg)
	case out.wrap == nil:
		res = w.v.of("res")
		w.P(res, ", ", w.err, " := ", call)
		w.onError("nil, ")
	default:
		r := w.v.of("res")
		w.P(r, ", ", w.err, " := ", call)
		w.onError("nil, ")
		res = w.a.newMessage(out.msg, out.wrap.GoName, r)
	}
	w.P("return ", w.id(svclroPackage, "Done"), "(", w.ctx, ", ", w.recv, ".repos.", w.sm.operationsField(), ", ", res, ", ", w.metadataOf(lro), ")")
}

// respondDone returns expr, the method's whole answer once its work is
// done (a batch's), or, for a method answering an Operation, an Operation
// that is done with expr as its response.
func (w *methodWriter) respondDone(expr string) {
	if lro := w.std.out.lro; lro != nil {
		w.P("return ", w.id(svclroPackage, "Done"), "(", w.ctx, ", ", w.recv, ".repos.", w.sm.operationsField(), ", ", expr, ", ", w.metadataOf(lro), ")")
		return
	}
	w.P("return ", expr, ", nil")
}

// metadataOf is the expression of an empty message of lro's metadata type.
func (w *methodWriter) metadataOf(lro *lroAnswer) string {
	if lro.metadata == nil {
		return w.id(svclroPackage, "EmptyMetadata") + "(" + strconv.Quote(string(lro.metadataName)) + ")"
	}
	return w.a.newMessage(lro.metadata)
}

// waitView is the wrapper's <Method>AndWait of a method answering an
// Operation.
type waitView struct {
	Doc, Name, Method, Wrapper   string
	C, CtxVar, In, Opts, Op, Err string
	Context, InType, CallOption  string
	ResType, MetaType, Helper    string
}

// waitSuffix names the wrapper method that waits for an operation:
// CreateInstance gives CreateInstanceAndWait.
const waitSuffix = "AndWait"

// waitViewOf returns <Method>AndWait for a method answering an Operation
// whose operation_info names types in scope (served by the skeleton or not),
// unless a method of the service or another wrapper method has the name.
func waitViewOf(g *protogen.GeneratedFile, home protogen.GoImportPath, sm *serviceModel, mm *methodModel) *waitView {
	lro := mm.lro
	if lro == nil {
		return nil
	}
	name := mm.m.GoName + waitSuffix
	for _, other := range sm.methods {
		if other.m.GoName == name || other.seqName == name || other.m.GoName+pagesSuffix == name {
			return nil
		}
	}
	m := mm.m
	meta, metaName := anyGo.Ident("Any"), "metadata as a google.protobuf.Any (its type, "+string(lro.metadataName)+", is declared in none of this file and its imports)"
	l := newLocalNames(home, m.Input, lro.response)
	if lro.metadata != nil {
		meta, metaName = lro.metadata.GoIdent, string(lro.metadata.Desc.Name())
		l = newLocalNames(home, m.Input, lro.response, lro.metadata)
	}
	return &waitView{
		Doc: docText(name+" calls "+m.GoName+" and waits for its operation to be done, as GAPIC's\n"+
			"Operation.Wait does: google.longrunning.Operations' WaitOperation (GetOperation\n"+
			"when the server lacks it), with backoff between calls, within ctx's deadline.\n"+
			"It returns the operation's "+string(lro.response.Desc.Name())+" and its "+metaName+" (nil when it has none);\n"+
			"an operation that failed answers its error as a status error. "+m.GoName+"\n"+
			"itself has its default deadline and retries; the wait is bounded by ctx only.",
			"", mm.deprecated),
		Name: name, Method: m.GoName, Wrapper: sm.names.Wrapper,
		C: l.of("c"), CtxVar: l.of("ctx"), In: l.of("in"), Opts: l.of("opts"), Op: l.of("op"), Err: l.of("err"),
		Context:    g.QualifiedGoIdent(contextPackage.Ident("Context")),
		InType:     g.QualifiedGoIdent(m.Input.GoIdent),
		CallOption: g.QualifiedGoIdent(grpcPackage.Ident("CallOption")),
		ResType:    g.QualifiedGoIdent(lro.response.GoIdent),
		MetaType:   g.QualifiedGoIdent(meta),
		Helper:     g.QualifiedGoIdent(svclroPackage.Ident("WaitFor")),
	}
}

package gen

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
)

// clientView is the data of templates/client.go.tmpl.
type clientView struct {
	Services []wrapperView
}

type wrapperView struct {
	StreamCheck *streamCheckView
	Doc         string
	FullName    string

	Wrapper, Client, NewClient, NewWrapper, WrapClient string
	Policies, MethodPolicies, ServiceConfig            string
	OldServiceConfig                                   string // "" unless the name changed

	Operations *wrapperOpsView // the Operations client of the AndWait methods; nil without them

	Methods      []wrapperMethodView
	PolicyRows   [][]string // the fields of each method's svcclient.MethodPolicy, as Go
	StartForTest *startForTestView

	Invoker, NewInvoker, Option, ClientConnInterface protogen.GoIdent
	MethodPolicy, ClonePolicies, ServiceConfigJSON   protogen.GoIdent
	RegisterPolicies                                 protogen.GoIdent
}

type wrapperOpsView struct {
	Type, New string // longrunningpb.OperationsClient and its constructor
}

type streamCheckView struct {
	File    string // the proto file to regenerate
	Generic string // grpc's generic stream type
	Stub    string // protoc-gen-go-grpc's stream type of the method
}

// wrapperMethodView is one wrapper method: Kind is hedged, unary,
// serverStreaming or clientStreaming (bidi included).
type wrapperMethodView struct {
	Kind, Doc, Name, Wrapper            string
	C, CtxVar, Ctx, In, Opts            string // locals, free of the imports used
	InType, OutType, CallOption, Stream string
	Helper                              string // the svcclient function the method calls
	Index                               string // the constant naming the method's row in the policy table
	IndexPad                            string // spaces after Index, aligning the constants' values
	SeqName, SeqDoc, SeqHelper, Seq2    string // server streams: the iterator
	Pages                               *pagesView
	Wait                                *waitView
}

type pagesView struct {
	Doc, Name, Method, Wrapper                     string
	C, CtxVar, In, Opts, Req, Token, Resp          string
	Context, InType, OutType, ItemType, CallOption string
	Seq2, Helper                                   string
	TokenField, ItemsField, NextField              string
	SetTokenBody, ItemsBody                        string // the bodies of the two function literals
}

type startForTestView struct {
	Name, Server, Wrapper, NewWrapper, Register, NewInMemorySkeleton string
	Operations                                                       *startOpsView
	TB, Option, ServeInProcess, ServiceRegistrar                     protogen.GoIdent
}

// startOpsView registers google.longrunning.Operations from the skeleton's
// repository of operations.
type startOpsView struct {
	Repositories, Field string
	Interface           string // interface{ Repositories() ... }, laid out
	Register            protogen.GoIdent
}

// emitClient writes the client wrapper, its policy table and service config
// of every service in the file.
func emitClient(g *protogen.GeneratedFile, f *fileModel) error {
	var v clientView
	for _, sm := range f.services {
		v.Services = append(v.Services, wrapperOf(g, f, sm))
	}
	return render(g, f, clientTemplate, v)
}

func wrapperOf(g *protogen.GeneratedFile, f *fileModel, sm *serviceModel) wrapperView {
	n := sm.names
	v := wrapperView{
		StreamCheck: streamCheckOf(g, sm),
		Doc: docText(n.Wrapper+" calls the "+string(sm.svc.Desc.FullName())+" service with a default deadline per\n"+
			"method and retries for the methods that are safe to retry (see "+n.MethodPolicies+");\n"+
			"their attempts wait for the connection to be ready, within the deadline.\n"+
			"It has the methods of "+n.Client+", with the same signatures, so it can stand in\n"+
			"for it; svcclient.CallTimeout, CallNoRetry, CallHook and CallRetryPolicy are\n"+
			"per-call grpc.CallOptions (a plain "+n.Client+" ignores them). Server-streaming\n"+
			"methods are also offered as iterators, and paginated List methods as one\n"+
			"iterator over every page.",
			sm.svc.Comments.Leading, sm.deprecated),
		FullName:            string(sm.svc.Desc.FullName()),
		Wrapper:             n.Wrapper,
		Client:              n.Client,
		NewClient:           n.NewClient,
		NewWrapper:          n.NewWrapper,
		WrapClient:          n.WrapClient,
		Policies:            n.policies,
		MethodPolicies:      n.MethodPolicies,
		ServiceConfig:       n.ServiceConfig,
		OldServiceConfig:    n.OldServiceConfig,
		Invoker:             svcclientPackage.Ident("Invoker"),
		NewInvoker:          svcclientPackage.Ident("NewInvoker"),
		Option:              svcclientPackage.Ident("Option"),
		ClientConnInterface: grpcPackage.Ident("ClientConnInterface"),
		MethodPolicy:        svcclientPackage.Ident("MethodPolicy"),
		ClonePolicies:       svcclientPackage.Ident("ClonePolicies"),
		ServiceConfigJSON:   svcclientPackage.Ident("ServiceConfigJSON"),
		RegisterPolicies:    svcclientPackage.Ident("RegisterPolicies"),
	}
	for _, mm := range sm.methods {
		v.Methods = append(v.Methods, wrapperMethodOf(g, f.file.GoImportPath, sm, mm))
		v.PolicyRows = append(v.PolicyRows, alignFields(policyRow(g, mm), "\t\t"))
		if v.Methods[len(v.Methods)-1].Wait != nil && v.Operations == nil {
			v.Operations = &wrapperOpsView{
				Type: g.QualifiedGoIdent(longrunningpbGo.Ident("OperationsClient")),
				New:  g.QualifiedGoIdent(longrunningpbGo.Ident("NewOperationsClient")),
			}
		}
	}
	width := 0
	for _, m := range v.Methods {
		width = max(width, len(m.Index))
	}
	for i := range v.Methods {
		v.Methods[i].IndexPad = strings.Repeat(" ", width-len(v.Methods[i].Index))
	}
	if f.params.Artifacts[ArtifactServer] {
		st := &startForTestView{
			Name: n.StartForTest, Server: n.Server, Wrapper: n.Wrapper, NewWrapper: n.NewWrapper, Register: n.Register,
			TB: svcserverPackage.Ident("TB"), Option: svcclientPackage.Ident("Option"),
			ServeInProcess: svcserverPackage.Ident("ServeInProcess"), ServiceRegistrar: grpcPackage.Ident("ServiceRegistrar"),
		}
		if len(sm.resources) > 0 {
			st.NewInMemorySkeleton = n.NewInMemorySkeleton
		}
		if f.params.Artifacts[ArtifactRepo] && sm.hasOperations() {
			st.Operations = &startOpsView{Repositories: n.Repositories, Field: sm.operationsField(), Register: svclroPackage.Ident("Register"),
				Interface: oneMethodInterface("Repositories() "+n.Repositories, len(n.Repositories), "\t\t")}
		}
		v.StartForTest = st
	}
	return v
}

func wrapperMethodOf(g *protogen.GeneratedFile, home protogen.GoImportPath, sm *serviceModel, mm *methodModel) wrapperMethodView {
	m := mm.m
	// The names of the receiver, parameters and variables, free of the
	// imports the body refers to.
	l := newLocalNames(home, m.Input, m.Output)
	v := wrapperMethodView{
		Doc:        docText(m.GoName+" calls "+string(m.Desc.FullName())+" "+describePolicy(mm)+".", m.Comments.Leading, mm.deprecated),
		Name:       m.GoName,
		Wrapper:    sm.names.Wrapper,
		C:          l.of("c"),
		CtxVar:     l.of("ctx"),
		In:         l.of("in"),
		Opts:       l.of("opts"),
		InType:     g.QualifiedGoIdent(m.Input.GoIdent),
		OutType:    g.QualifiedGoIdent(m.Output.GoIdent),
		CallOption: g.QualifiedGoIdent(grpcPackage.Ident("CallOption")),
		Index:      sm.names.policyRow(m),
	}
	v.Ctx = v.CtxVar + " " + g.QualifiedGoIdent(contextPackage.Ident("Context"))
	switch mm.kind {
	case unary:
		v.Kind, v.Helper = "unary", g.QualifiedGoIdent(svcclientPackage.Ident("Call"))
		if mm.policy.hedging != nil {
			v.Kind, v.Helper = "hedged", g.QualifiedGoIdent(svcclientPackage.Ident("Hedge"))
		}
		v.Pages = pagesViewOf(g, home, sm, mm)
		v.Wait = waitViewOf(g, home, sm, mm)
	case serverStreaming:
		v.Kind = "serverStreaming"
		v.Stream = g.QualifiedGoIdent(grpcPackage.Ident("ServerStreamingClient")) + "[" + v.OutType + "]"
		v.Helper = g.QualifiedGoIdent(svcclientPackage.Ident("ServerStream"))
		v.SeqName, v.SeqHelper = mm.seqName, g.QualifiedGoIdent(svcclientPackage.Ident("Seq"))
		v.Seq2 = g.QualifiedGoIdent(iterPackage.Ident("Seq2"))
		v.SeqDoc = docText(mm.seqName+" calls "+string(m.Desc.FullName())+" like "+m.GoName+" and yields its messages;\n"+
			"a failed call yields one error and stops. Breaking out of the loop ends the call.",
			"", mm.deprecated)
	case clientStreaming, bidiStreaming:
		open, kind := "ClientStream", "ClientStreamingClient"
		if mm.kind == bidiStreaming {
			open, kind = "BidiStream", "BidiStreamingClient"
		}
		v.Kind = "clientStreaming"
		v.Stream = g.QualifiedGoIdent(grpcPackage.Ident(kind)) + "[" + v.InType + ", " + v.OutType + "]"
		v.Helper = g.QualifiedGoIdent(svcclientPackage.Ident(open))
	}
	return v
}

// describePolicy says in words what the table says, for doc comments.
func describePolicy(mm *methodModel) string {
	p := mm.policy
	var parts []string
	if p.timeout > 0 {
		parts = append(parts, "with a default deadline of "+p.timeout.String())
	} else {
		parts = append(parts, "with no default deadline")
	}
	switch {
	case mm.kind == clientStreaming || mm.kind == bidiStreaming:
		parts = append(parts, "never retried (its messages cannot be replayed)")
	case p.hedging != nil:
		var names []string
		for _, c := range p.hedging.codes {
			names = append(names, codeName(c))
		}
		parts = append(parts, fmt.Sprintf("hedged: up to %d attempts, one more every %v without an answer\n"+
			"or at once after %s; the first answer wins", p.hedging.maxAttempts, p.hedging.delay, strings.Join(names, ", ")))
	case p.retry.maxAttempts > 1:
		var names []string
		for _, c := range p.retry.codes {
			names = append(names, codeName(c))
		}
		what := fmt.Sprintf("retried on %s, %d attempts at most", strings.Join(names, ", "), p.retry.maxAttempts)
		if mm.kind == serverStreaming {
			what += ", until the first message arrives"
		}
		parts = append(parts, what)
	default:
		parts = append(parts, "not retried")
	}
	return strings.Join(parts, ",\n")
}

// alignFields lays out the fields of a composite literal, one per line at
// indent, as go/printer does: "Key: value" fields on consecutive lines have
// their values aligned, and a field whose value spans lines (a literal of
// fields of its own, "T{\n...,\n}") stands alone, unaligned, its own
// fields aligned one level deeper.
func alignFields(fields []string, indent string) []string {
	out := make([]string, len(fields))
	for i := 0; i < len(fields); {
		if strings.Contains(fields[i], "\n") {
			lines := strings.Split(fields[i], "\n")
			inner := make([]string, 0, len(lines)-2)
			for _, l := range lines[1 : len(lines)-1] {
				inner = append(inner, strings.TrimSuffix(l, ","))
			}
			deeper := indent + "\t"
			out[i] = lines[0] + "\n" + deeper + strings.Join(alignFields(inner, deeper), ",\n"+deeper) + ",\n" + indent + lines[len(lines)-1]
			i++
			continue
		}
		j, width := i, 0
		for ; j < len(fields) && !strings.Contains(fields[j], "\n"); j++ {
			key, _, _ := strings.Cut(fields[j], ": ")
			width = max(width, len(key))
		}
		for ; i < j; i++ {
			key, value, _ := strings.Cut(fields[i], ": ")
			out[i] = key + ":" + strings.Repeat(" ", width-len(key)+1) + value
		}
	}
	return out
}

// policyRow is the fields of a method's svcclient.MethodPolicy literal.
func policyRow(g *protogen.GeneratedFile, mm *methodModel) []string {
	p := mm.policy
	row := []string{
		"FullMethod: " + mm.fullMethod,
		"Kind: " + g.QualifiedGoIdent(svcclientPackage.Ident(kindIdent[mm.kind])),
		"Idempotency: " + g.QualifiedGoIdent(svcclientPackage.Ident(idempotencyIdent[p.idempotency])),
		"Auth: " + g.QualifiedGoIdent(svcclientPackage.Ident(authIdent[p.auth])),
	}
	if p.timeout > 0 {
		row = append(row, "Timeout: "+durationLiteral(g, p.timeout))
	}
	codeList := func(cs []codes.Code) string {
		var names []string
		for _, c := range cs {
			names = append(names, g.QualifiedGoIdent(codesPackage.Ident(c.String())))
		}
		return "[]" + g.QualifiedGoIdent(codesPackage.Ident("Code")) + "{" + strings.Join(names, ", ") + "}"
	}
	retry := g.QualifiedGoIdent(svcclientPackage.Ident("RetryPolicy"))
	if r := p.retry; r.maxAttempts <= 1 {
		row = append(row, "Retry: "+retry+"{MaxAttempts: 1}")
	} else {
		fields := []string{
			"MaxAttempts: " + strconv.Itoa(r.maxAttempts),
			"InitialBackoff: " + durationLiteral(g, r.initialBackoff),
			"MaxBackoff: " + durationLiteral(g, r.maxBackoff),
			"BackoffMultiplier: " + strconv.FormatFloat(r.backoffMultiplier, 'g', -1, 64),
			"RetryableCodes: " + codeList(r.codes),
		}
		if r.perAttemptTimeout > 0 {
			fields = append(fields, "PerAttemptTimeout: "+durationLiteral(g, r.perAttemptTimeout))
		}
		row = append(row, "Retry: "+retry+"{\n"+strings.Join(fields, ",\n")+",\n}")
	}
	if h := p.hedging; h != nil {
		fields := []string{"MaxAttempts: " + strconv.Itoa(h.maxAttempts)}
		if h.delay > 0 {
			fields = append(fields, "Delay: "+durationLiteral(g, h.delay))
		}
		fields = append(fields, "NonFatalCodes: "+codeList(h.codes))
		row = append(row, "Hedging: "+g.QualifiedGoIdent(svcclientPackage.Ident("HedgingPolicy"))+"{\n"+strings.Join(fields, ",\n")+",\n}")
	}
	return row
}

// streamCheckOf returns, for a service with streaming methods, a line that
// compiles only with protoc-gen-go-grpc v1.5 or newer, whose stream types
// are aliases of grpc's generic ones (the wrapper's methods return those).
// Older output makes this line, with its comment, the first compile error,
// instead of an obscure one about the wrapper's method set.
func streamCheckOf(g *protogen.GeneratedFile, sm *serviceModel) *streamCheckView {
	for _, mm := range sm.methods {
		m := mm.m
		var generic string
		in, out := g.QualifiedGoIdent(m.Input.GoIdent), g.QualifiedGoIdent(m.Output.GoIdent)
		switch mm.kind {
		case serverStreaming:
			generic = g.QualifiedGoIdent(grpcPackage.Ident("ServerStreamingClient")) + "[" + out + "]"
		case clientStreaming:
			generic = g.QualifiedGoIdent(grpcPackage.Ident("ClientStreamingClient")) + "[" + in + ", " + out + "]"
		case bidiStreaming:
			generic = g.QualifiedGoIdent(grpcPackage.Ident("BidiStreamingClient")) + "[" + in + ", " + out + "]"
		default:
			continue
		}
		return &streamCheckView{File: sm.svc.Desc.ParentFile().Path(), Generic: generic, Stub: sm.svc.GoName + "_" + m.GoName + "Client"}
	}
	return nil
}

// pageShape is how a unary List method pages, recognised by shape only
// (AIP-158): the request has a string page_token and an integer page_size,
// the response a string next_page_token and exactly one repeated message
// field, the items.
type pageShape struct {
	token     *protogen.Field // request page_token
	nextToken *protogen.Field // response next_page_token
	items     *protogen.Field // response's repeated message field
}

// pagesOf returns the page shape of a unary method, or nil.
func pagesOf(mm *methodModel) *pageShape {
	if mm.kind != unary {
		return nil
	}
	field := func(msg *protogen.Message, name string) *protogen.Field {
		for _, f := range msg.Fields {
			if string(f.Desc.Name()) == name {
				return f
			}
		}
		return nil
	}
	isString := func(f *protogen.Field) bool {
		return f != nil && f.Desc.Kind() == protoreflect.StringKind && !f.Desc.IsList() && !f.Desc.HasPresence()
	}
	ps := &pageShape{token: field(mm.m.Input, "page_token"), nextToken: field(mm.m.Output, "next_page_token")}
	size := field(mm.m.Input, "page_size")
	if !isString(ps.token) || !isString(ps.nextToken) || size == nil || size.Desc.IsList() {
		return nil
	}
	switch size.Desc.Kind() {
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind, protoreflect.Uint64Kind,
		protoreflect.Sint32Kind, protoreflect.Sint64Kind:
	default:
		return nil
	}
	for _, f := range mm.m.Output.Fields {
		if !f.Desc.IsList() {
			continue
		}
		if ps.items != nil || f.Desc.Kind() != protoreflect.MessageKind {
			return nil // two repeated fields, or scalars: not one list of items
		}
		ps.items = f
	}
	if ps.items == nil {
		return nil
	}
	return ps
}

// pagesSuffix names the wrapper method that iterates over every page of a
// List method: ListBooks gives ListBooksAll.
const pagesSuffix = "All"

// pagesViewOf returns ListXsAll for a unary method with the page shape,
// unless the name is taken by a method of the service or an iterator.
func pagesViewOf(g *protogen.GeneratedFile, home protogen.GoImportPath, sm *serviceModel, mm *methodModel) *pagesView {
	ps := pagesOf(mm)
	if ps == nil {
		return nil
	}
	name := mm.m.GoName + pagesSuffix
	for _, other := range sm.methods {
		if other.m.GoName == name || other.seqName == name {
			return nil
		}
	}
	m := mm.m
	item := ps.items.Message
	l := newLocalNames(home, m.Input, m.Output, item)
	v := &pagesView{
		Doc: docText(name+" calls "+m.GoName+" page after page, following "+string(ps.nextToken.Desc.Name())+" from\n"+
			"in's "+string(ps.token.Desc.Name())+" on, and yields the "+string(ps.items.Desc.Name())+" of every page; a failed page\n"+
			"yields one error and stops. Each page is one call of "+m.GoName+", with its\n"+
			"default deadline and retries; ctx bounds the whole iteration. in is not\n"+
			"modified. Breaking out of the loop stops asking for pages.",
			"", mm.deprecated),
		Name: name, Method: m.GoName, Wrapper: sm.names.Wrapper,
		C: l.of("c"), CtxVar: l.of("ctx"), In: l.of("in"), Opts: l.of("opts"), Req: l.of("req"), Token: l.of("token"), Resp: l.of("resp"),
		Context:    g.QualifiedGoIdent(contextPackage.Ident("Context")),
		InType:     g.QualifiedGoIdent(m.Input.GoIdent),
		OutType:    g.QualifiedGoIdent(m.Output.GoIdent),
		ItemType:   g.QualifiedGoIdent(item.GoIdent),
		CallOption: g.QualifiedGoIdent(grpcPackage.Ident("CallOption")),
		Seq2:       g.QualifiedGoIdent(iterPackage.Ident("Seq2")),
		Helper:     g.QualifiedGoIdent(svcclientPackage.Ident("Pages")),
		TokenField: ps.token.GoName, ItemsField: ps.items.GoName, NextField: ps.nextToken.GoName,
	}
	v.SetTokenBody = funcLitBody("func("+v.Req+" *"+v.InType+", "+v.Token+" string)",
		v.Req+"."+v.TokenField+" = "+v.Token, "\t\t")
	v.ItemsBody = funcLitBody("func("+v.Resp+" *"+v.OutType+") ([]*"+v.ItemType+", string)",
		"return "+v.Resp+".Get"+v.ItemsField+"(), "+v.Resp+".Get"+v.NextField+"()", "\t\t")
	return v
}

// oneMethodInterface is an interface type of one method, which takes no
// arguments and returns a type of resultLen characters, as go/printer
// prints it: on one line when "func() " and the result take at most 29
// columns (go/printer's isOneLineFieldList), else the method on a line of
// its own, at indent and a tab.
func oneMethodInterface(method string, resultLen int, indent string) string {
	if 1+len("func() ")+resultLen <= 30 {
		return "interface{ " + method + " }"
	}
	return "interface {\n" + indent + "\t" + method + "\n" + indent + "}"
}

// funcLitBody is the body of a function literal of one statement, as
// go/printer prints it after the literal's signature: on the same line
// when the signature and the statement take at most 100 columns together
// (go/printer's funcBody), else on a line of its own, at indent and a tab.
func funcLitBody(signature, stmt, indent string) string {
	if len(signature)+len(stmt) <= 100 {
		return "{ " + stmt + " }"
	}
	return "{\n" + indent + "\t" + stmt + "\n" + indent + "}"
}

var kindIdent = map[rpcKind]string{
	unary:           "Unary",
	serverStreaming: "ServerStreaming",
	clientStreaming: "ClientStreaming",
	bidiStreaming:   "BidiStreaming",
}

var idempotencyIdent = map[descriptorpb.MethodOptions_IdempotencyLevel]string{
	descriptorpb.MethodOptions_IDEMPOTENCY_UNKNOWN: "IdempotencyUnknown",
	descriptorpb.MethodOptions_NO_SIDE_EFFECTS:     "NoSideEffects",
	descriptorpb.MethodOptions_IDEMPOTENT:          "Idempotent",
}

var authIdent = map[svcv1.Auth]string{
	svcv1.Auth_AUTH_REQUIRED: "AuthRequired",
	svcv1.Auth_AUTH_PUBLIC:   "AuthPublic",
}

// durationLiteral writes d as readable Go: 5 * time.Second, 1500 *
// time.Millisecond.
func durationLiteral(g *protogen.GeneratedFile, d time.Duration) string {
	units := []struct {
		unit time.Duration
		name string
	}{
		{time.Hour, "Hour"}, {time.Minute, "Minute"}, {time.Second, "Second"},
		{time.Millisecond, "Millisecond"}, {time.Microsecond, "Microsecond"},
	}
	for _, u := range units {
		if d%u.unit == 0 {
			return strconv.FormatInt(int64(d/u.unit), 10) + " * " + g.QualifiedGoIdent(timePackage.Ident(u.name))
		}
	}
	return strconv.FormatInt(int64(d), 10) + " * " + g.QualifiedGoIdent(timePackage.Ident("Nanosecond"))
}

package gen

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

const (
	iterPackage      = protogen.GoImportPath("iter")
	timePackage      = protogen.GoImportPath("time")
	codesPackage     = protogen.GoImportPath("google.golang.org/grpc/codes")
	svcclientPackage = protogen.GoImportPath("github.com/svcgen/protoc-gen-svc/svcclient")
)

// emitClient writes the client wrapper, its policy table and service config
// of every service in the file.
func emitClient(g *protogen.GeneratedFile, f *fileModel) error {
	for _, sm := range f.services {
		emitWrapper(g, f.file.GoImportPath, sm)
		emitPolicies(g, sm)
		if f.params.Artifacts[ArtifactServer] {
			emitStartForTest(g, sm)
		}
	}
	return nil
}

// emitStartForTest writes the one-call test helper: serve an implementation
// in process and get a wrapper client for it.
func emitStartForTest(g *protogen.GeneratedFile, sm *serviceModel) {
	n := sm.names
	g.P("// ", n.StartForTest, " serves impl on an in-process connection (bufconn), with")
	g.P("// svcserver's recovery, health and reflection, and returns a wrapper client for")
	g.P("// it; both are stopped when the test ends. It is meant for tests:")
	if len(sm.resources) > 0 {
		g.P("// ", n.StartForTest, "(t, ", n.NewInMemorySkeleton, "()) runs the service on")
		g.P("// in-memory repositories.")
	} else {
		g.P("// ", n.StartForTest, "(t, myImpl{}).")
	}
	g.P("func ", n.StartForTest, "(tb ", svcserverPackage.Ident("TB"), ", impl ", n.Server, ", opts ...", svcclientPackage.Ident("Option"), ") *", n.Wrapper, " {")
	g.P("tb.Helper()")
	g.P("conn := ", svcserverPackage.Ident("ServeInProcess"), "(tb, func(s ", grpcPackage.Ident("ServiceRegistrar"), ") {")
	g.P(n.Register, "(s, impl)")
	g.P("})")
	g.P("return ", n.NewWrapper, "(conn, opts...)")
	g.P("}")
	g.P()
}

func emitWrapper(g *protogen.GeneratedFile, home protogen.GoImportPath, sm *serviceModel) {
	n := sm.names
	grpcCallOption := g.QualifiedGoIdent(grpcPackage.Ident("CallOption"))
	option := g.QualifiedGoIdent(svcclientPackage.Ident("Option"))
	emitStreamCheck(g, sm)
	docComment(g, n.Wrapper+" calls the "+string(sm.svc.Desc.FullName())+" service with a default deadline per\n"+
		"method and retries for the methods that are safe to retry (see "+n.MethodPolicies+");\n"+
		"their attempts wait for the connection to be ready, within the deadline.\n"+
		"It has the methods of "+n.Client+", with the same signatures, so it can stand in\n"+
		"for it; svcclient.CallTimeout, CallNoRetry, CallHook and CallRetryPolicy are\n"+
		"per-call grpc.CallOptions (a plain "+n.Client+" ignores them). Server-streaming\n"+
		"methods are also offered as iterators, and paginated List methods as one\n"+
		"iterator over every page.",
		sm.svc.Comments.Leading, sm.deprecated)
	g.P("type ", n.Wrapper, " struct {")
	g.P("client ", n.Client)
	g.P("inv *", svcclientPackage.Ident("Invoker"))
	g.P("}")
	g.P()
	g.P("var _ ", n.Client, " = (*", n.Wrapper, ")(nil)")
	g.P()
	g.P("// ", n.NewWrapper, " returns a wrapper that calls the service over cc. It panics")
	g.P("// if an option is wrong (e.g. svcclient.WithMethodPolicy naming a method the service")
	g.P("// does not have); check options built at run time with")
	g.P("// svcclient.CheckOptions(", n.MethodPolicies, "(), opts...) first.")
	g.P("func ", n.NewWrapper, "(cc ", grpcPackage.Ident("ClientConnInterface"), ", opts ...", option, ") *", n.Wrapper, " {")
	g.P("return ", n.WrapClient, "(", n.NewClient, "(cc), opts...)")
	g.P("}")
	g.P()
	g.P("// ", n.WrapClient, " returns a wrapper around an existing ", n.Client, ". Like")
	g.P("// ", n.NewWrapper, ", it panics if an option is wrong.")
	g.P("func ", n.WrapClient, "(client ", n.Client, ", opts ...", option, ") *", n.Wrapper, " {")
	g.P("return &", n.Wrapper, "{client: client, inv: ", svcclientPackage.Ident("NewInvoker"), "(", n.policies, ", opts...)}")
	g.P("}")
	g.P()
	for _, mm := range sm.methods {
		m := mm.m
		in, out := g.QualifiedGoIdent(m.Input.GoIdent), g.QualifiedGoIdent(m.Output.GoIdent)
		// The names of the receiver, parameters and variables, free of the
		// imports the body refers to.
		v := newLocalNames(home, m.Input, m.Output)
		c, ctxv, inv, opts, outv, errv := v.of("c"), v.of("ctx"), v.of("in"), v.of("opts"), v.of("out"), v.of("err")
		ctx := ctxv + " " + g.QualifiedGoIdent(contextPackage.Ident("Context"))
		docComment(g, m.GoName+" calls "+string(m.Desc.FullName())+" "+describePolicy(mm)+".",
			m.Comments.Leading, mm.deprecated)
		switch mm.kind {
		case unary:
			g.P("func (", c, " *", n.Wrapper, ") ", m.GoName, "(", ctx, ", ", inv, " *", in, ", ", opts, " ...", grpcCallOption, ") (*", out, ", error) {")
			if mm.policy.hedging != nil {
				g.P("return ", svcclientPackage.Ident("Hedge"), "(", ctxv, ", ", c, ".inv, ", mm.index, ", ", opts, ", ", inv, ", ", c, ".client.", m.GoName, ")")
				g.P("}")
				g.P()
				emitPages(g, home, sm, mm)
				continue
			}
			g.P("var ", outv, " *", out)
			g.P(errv, " := ", c, ".inv.Unary(", ctxv, ", ", mm.index, ", ", opts, ", func(", ctx, ", ", opts, " []", grpcCallOption, ") error {")
			g.P("var ", errv, " error")
			g.P(outv, ", ", errv, " = ", c, ".client.", m.GoName, "(", ctxv, ", ", inv, ", ", opts, "...)")
			g.P("return ", errv)
			g.P("})")
			g.P("return ", outv, ", ", errv)
			g.P("}")
			g.P()
			emitPages(g, home, sm, mm)
			continue
		case serverStreaming:
			stream := g.QualifiedGoIdent(grpcPackage.Ident("ServerStreamingClient")) + "[" + out + "]"
			open := "func(" + ctx + ", " + opts + " []" + grpcCallOption + ") (" + stream + ", error) {\nreturn " + c + ".client." + m.GoName + "(" + ctxv + ", " + inv + ", " + opts + "...)\n}"
			g.P("func (", c, " *", n.Wrapper, ") ", m.GoName, "(", ctx, ", ", inv, " *", in, ", ", opts, " ...", grpcCallOption, ") (", stream, ", error) {")
			g.P("return ", svcclientPackage.Ident("ServerStream"), "(", ctxv, ", ", c, ".inv, ", mm.index, ", ", opts, ", ", open, ")")
			g.P("}")
			g.P()
			docComment(g, mm.seqName+" calls "+string(m.Desc.FullName())+" like "+m.GoName+" and yields its messages;\n"+
				"a failed call yields one error and stops. Breaking out of the loop ends the call.",
				"", mm.deprecated)
			g.P("func (", c, " *", n.Wrapper, ") ", mm.seqName, "(", ctx, ", ", inv, " *", in, ", ", opts, " ...", grpcCallOption, ") ",
				iterPackage.Ident("Seq2"), "[*", out, ", error] {")
			g.P("return ", svcclientPackage.Ident("Seq"), "(", ctxv, ", ", c, ".inv, ", mm.index, ", ", opts, ", ", open, ")")
			g.P("}")
		case clientStreaming, bidiStreaming:
			open, kind := "ClientStream", "ClientStreamingClient"
			if mm.kind == bidiStreaming {
				open, kind = "BidiStream", "BidiStreamingClient"
			}
			g.P("func (", c, " *", n.Wrapper, ") ", m.GoName, "(", ctx, ", ", opts, " ...", grpcCallOption, ") (",
				grpcPackage.Ident(kind), "[", in, ", ", out, "], error) {")
			g.P("return ", svcclientPackage.Ident(open), "(", ctxv, ", ", c, ".inv, ", mm.index, ", ", opts, ", ", c, ".client.", m.GoName, ")")
			g.P("}")
		}
		g.P()
	}
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

func emitPolicies(g *protogen.GeneratedFile, sm *serviceModel) {
	n := sm.names
	policy := g.QualifiedGoIdent(svcclientPackage.Ident("MethodPolicy"))
	g.P("// ", n.policies, " is the client policy of every method of ", sm.svc.Desc.FullName(), ",")
	g.P("// in the order of the service, resolved from the schema and the plugin options.")
	g.P("var ", n.policies, " = []", policy, "{")
	for _, mm := range sm.methods {
		p := mm.policy
		g.P("{")
		g.P("FullMethod: ", mm.fullMethod, ",")
		g.P("Kind: ", svcclientPackage.Ident(kindIdent[mm.kind]), ",")
		g.P("Idempotency: ", svcclientPackage.Ident(idempotencyIdent[p.idempotency]), ",")
		if p.timeout > 0 {
			g.P("Timeout: ", durationLiteral(g, p.timeout), ",")
		}
		r := p.retry
		if r.maxAttempts <= 1 {
			g.P("Retry: ", svcclientPackage.Ident("RetryPolicy"), "{MaxAttempts: 1},")
		} else {
			g.P("Retry: ", svcclientPackage.Ident("RetryPolicy"), "{")
			g.P("MaxAttempts: ", r.maxAttempts, ",")
			g.P("InitialBackoff: ", durationLiteral(g, r.initialBackoff), ",")
			g.P("MaxBackoff: ", durationLiteral(g, r.maxBackoff), ",")
			g.P("BackoffMultiplier: ", strconv.FormatFloat(r.backoffMultiplier, 'g', -1, 64), ",")
			var cs []string
			for _, c := range r.codes {
				cs = append(cs, g.QualifiedGoIdent(codesPackage.Ident(c.String())))
			}
			g.P("RetryableCodes: []", codesPackage.Ident("Code"), "{", strings.Join(cs, ", "), "},")
			if r.perAttemptTimeout > 0 {
				g.P("PerAttemptTimeout: ", durationLiteral(g, r.perAttemptTimeout), ",")
			}
			g.P("},")
		}
		if h := p.hedging; h != nil {
			g.P("Hedging: ", svcclientPackage.Ident("HedgingPolicy"), "{")
			g.P("MaxAttempts: ", h.maxAttempts, ",")
			if h.delay > 0 {
				g.P("Delay: ", durationLiteral(g, h.delay), ",")
			}
			var cs []string
			for _, c := range h.codes {
				cs = append(cs, g.QualifiedGoIdent(codesPackage.Ident(c.String())))
			}
			g.P("NonFatalCodes: []", codesPackage.Ident("Code"), "{", strings.Join(cs, ", "), "},")
			g.P("},")
		}
		g.P("},")
	}
	g.P("}")
	g.P()
	g.P("// ", n.MethodPolicies, " returns the client policy of every method of ", sm.svc.Desc.FullName(), ":")
	g.P("// full method name, RPC kind, idempotency, default timeout and retry policy.")
	g.P("// The result is a copy; changing it changes no wrapper.")
	g.P("func ", n.MethodPolicies, "() []", policy, " {")
	g.P("return ", svcclientPackage.Ident("ClonePolicies"), "(", n.policies, ")")
	g.P("}")
	g.P()
	g.P("// ", n.ServiceConfig, " returns the gRPC service config JSON equivalent to")
	g.P("// ", n.MethodPolicies, ", for grpc.WithDefaultServiceConfig. Retry in one layer")
	g.P("// only: with this config, construct the wrapper with svcclient.WithoutRetries(),")
	g.P("// or attempts multiply.")
	g.P("func ", n.ServiceConfig, "() string {")
	g.P("return ", svcclientPackage.Ident("ServiceConfigJSON"), "(", n.policies, ")")
	g.P("}")
	g.P()
	if n.OldServiceConfig != "" {
		g.P("// ", n.OldServiceConfig, " is the old name of ", n.ServiceConfig, ".")
		g.P("//")
		g.P("// Deprecated: use ", n.ServiceConfig, "; this name will be removed in the next release.")
		g.P("func ", n.OldServiceConfig, "() string {")
		g.P("return ", n.ServiceConfig, "()")
		g.P("}")
		g.P()
	}
}

// emitStreamCheck writes, for a service with streaming methods, a line that
// compiles only with protoc-gen-go-grpc v1.5 or newer, whose stream types
// are aliases of grpc's generic ones (the wrapper's methods return those).
// Older output makes this line, with its comment, the first compile error,
// instead of an obscure one about the wrapper's method set.
func emitStreamCheck(g *protogen.GeneratedFile, sm *serviceModel) {
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
		g.P("// The client wrapper needs the _grpc.pb.go of protoc-gen-go-grpc v1.5 or newer")
		g.P("// (generic stream types). If the next line does not compile, regenerate")
		g.P("// ", sm.svc.Desc.ParentFile().Path(), " with a current protoc-gen-go-grpc.")
		g.P("var _ *", generic, " = (*", sm.svc.GoName, "_", m.GoName, "Client)(nil)")
		g.P()
		return
	}
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

// emitPages writes ListXsAll for a unary method with the page shape, unless
// the name is taken by a method of the service or an iterator.
func emitPages(g *protogen.GeneratedFile, home protogen.GoImportPath, sm *serviceModel, mm *methodModel) {
	ps := pagesOf(mm)
	if ps == nil {
		return
	}
	name := mm.m.GoName + pagesSuffix
	for _, other := range sm.methods {
		if other.m.GoName == name || other.seqName == name {
			return
		}
	}
	m := mm.m
	item := ps.items.Message
	in, out, it := g.QualifiedGoIdent(m.Input.GoIdent), g.QualifiedGoIdent(m.Output.GoIdent), g.QualifiedGoIdent(item.GoIdent)
	v := newLocalNames(home, m.Input, m.Output, item)
	c, ctxv, inv, opts, req, token, resp := v.of("c"), v.of("ctx"), v.of("in"), v.of("opts"), v.of("req"), v.of("token"), v.of("resp")
	docComment(g, name+" calls "+m.GoName+" page after page, following "+string(ps.nextToken.Desc.Name())+" from\n"+
		"in's "+string(ps.token.Desc.Name())+" on, and yields the "+string(ps.items.Desc.Name())+" of every page; a failed page\n"+
		"yields one error and stops. Each page is one call of "+m.GoName+", with its\n"+
		"default deadline and retries; ctx bounds the whole iteration. in is not\n"+
		"modified. Breaking out of the loop stops asking for pages.",
		"", mm.deprecated)
	g.P("func (", c, " *", sm.names.Wrapper, ") ", name, "(", ctxv, " ", contextPackage.Ident("Context"), ", ", inv, " *", in, ", ", opts, " ...", grpcPackage.Ident("CallOption"), ") ",
		iterPackage.Ident("Seq2"), "[*", it, ", error] {")
	g.P("return ", svcclientPackage.Ident("Pages"), "(", ctxv, ", ", inv, ", ", opts, ", ", c, ".", m.GoName, ",")
	g.P("func(", req, " *", in, ", ", token, " string) { ", req, ".", ps.token.GoName, " = ", token, " },")
	g.P("func(", resp, " *", out, ") ([]*", it, ", string) { return ", resp, ".Get", ps.items.GoName, "(), ", resp, ".Get", ps.nextToken.GoName, "() })")
	g.P("}")
	g.P()
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

package gen

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/compiler/protogen"
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
	docComment(g, n.Wrapper+" calls the "+string(sm.svc.Desc.FullName())+" service with a default deadline per\n"+
		"method and retries for the methods that are safe to retry (see "+n.MethodPolicies+").\n"+
		"It has the methods of "+n.Client+", with the same signatures, so it can stand in\n"+
		"for it; svcclient.WithTimeout, WithoutRetry and WithRetryHook are per-call\n"+
		"grpc.CallOptions. Server-streaming methods are also offered as iterators.",
		sm.svc.Comments.Leading, sm.deprecated)
	g.P("type ", n.Wrapper, " struct {")
	g.P("client ", n.Client)
	g.P("inv *", svcclientPackage.Ident("Invoker"))
	g.P("}")
	g.P()
	g.P("var _ ", n.Client, " = (*", n.Wrapper, ")(nil)")
	g.P()
	g.P("// ", n.NewWrapper, " returns a wrapper that calls the service over cc.")
	g.P("func ", n.NewWrapper, "(cc ", grpcPackage.Ident("ClientConnInterface"), ", opts ...", option, ") *", n.Wrapper, " {")
	g.P("return ", n.WrapClient, "(", n.NewClient, "(cc), opts...)")
	g.P("}")
	g.P()
	g.P("// ", n.WrapClient, " returns a wrapper around an existing ", n.Client, ".")
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
			g.P("var ", outv, " *", out)
			g.P(errv, " := ", c, ".inv.Unary(", ctxv, ", ", mm.index, ", ", opts, ", func(", ctx, ", ", opts, " []", grpcCallOption, ") error {")
			g.P("var ", errv, " error")
			g.P(outv, ", ", errv, " = ", c, ".client.", m.GoName, "(", ctxv, ", ", inv, ", ", opts, "...)")
			g.P("return ", errv)
			g.P("})")
			g.P("return ", outv, ", ", errv)
			g.P("}")
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

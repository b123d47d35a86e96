package gen

import (
	"strconv"

	"google.golang.org/protobuf/compiler/protogen"
)

const (
	ioPackage        = protogen.GoImportPath("io")
	protoPackage     = protogen.GoImportPath("google.golang.org/protobuf/proto")
	emptypbPackage   = protogen.GoImportPath("google.golang.org/protobuf/types/known/emptypb")
	fieldmaskPackage = protogen.GoImportPath("google.golang.org/protobuf/types/known/fieldmaskpb")
)

// repositoriesMethod is the skeleton's accessor of its repositories; no
// method of the service may have its name (see checkMethodNames).
const repositoriesMethod = "Repositories"

// emitServer writes the server skeleton of every service in the file.
func emitServer(g *protogen.GeneratedFile, f *fileModel) {
	for _, sm := range f.services {
		emitSkeleton(g, f.file.GoImportPath, sm)
	}
}

func emitSkeleton(g *protogen.GeneratedFile, home protogen.GoImportPath, sm *serviceModel) {
	n := sm.names
	first := n.Skeleton + " is a ready implementation of " + n.Server + ": embed it by value\n" +
		"in your own type and override the methods you serve. Every method you do\n" +
		"not override answers codes.Unimplemented with the method's full name, so\n" +
		"adding a method to the service and regenerating keeps your type compiling."
	if len(sm.resources) > 0 {
		first += "\nStandard methods are served from the repositories given to " + n.NewSkeleton + ";\n" +
			"a zero " + n.Skeleton + " has none and answers Unimplemented for them too."
	}
	docComment(g, first, sm.svc.Comments.Leading, sm.deprecated)
	g.P("type ", n.Skeleton, " struct {")
	g.P(n.Unimplemented)
	if len(sm.resources) > 0 {
		g.P("repos ", n.Repositories)
	}
	g.P("}")
	g.P()
	g.P("var _ ", n.Server, " = ", n.Skeleton, "{}")
	g.P()
	if len(sm.resources) > 0 {
		emitRepositories(g, sm)
	}
	for _, mm := range sm.methods {
		if mm.std != nil {
			emitStandardMethod(g, home, sm, mm)
		} else {
			emitUnimplementedMethod(g, sm, mm)
		}
	}
}

// emitRepositories writes the repository set of a skeleton and its
// constructors.
func emitRepositories(g *protogen.GeneratedFile, sm *serviceModel) {
	n := sm.names
	g.P("// ", n.Repositories, " holds the repositories ", n.Skeleton, " serves standard")
	g.P("// methods from. A nil repository leaves its methods Unimplemented.")
	g.P("type ", n.Repositories, " struct {")
	for _, r := range sm.resources {
		g.P(r.skeletonField, " ", r.repository)
	}
	g.P("}")
	g.P()
	g.P("// ", n.NewSkeleton, " returns a skeleton that serves standard methods from repos.")
	g.P("func ", n.NewSkeleton, "(repos ", n.Repositories, ") ", n.Skeleton, " {")
	g.P("return ", n.Skeleton, "{repos: repos}")
	g.P("}")
	g.P()
	g.P("// ", repositoriesMethod, " returns the repositories the skeleton serves standard")
	g.P("// methods from, for the methods you write yourself.")
	g.P("func (s ", n.Skeleton, ") ", repositoriesMethod, "() ", n.Repositories, " {")
	g.P("return s.repos")
	g.P("}")
	g.P()
	g.P("// ", n.NewInMemorySkeleton, " returns a skeleton that serves standard methods from")
	g.P("// new, empty in-memory repositories, each configured with opts.")
	g.P("func ", n.NewInMemorySkeleton, "(opts ...", svcstorePackage.Ident("Option"), ") ", n.Skeleton, " {")
	g.P("return ", n.NewSkeleton, "(", n.Repositories, "{")
	for _, r := range sm.resources {
		g.P(r.skeletonField, ": ", r.newInMemory, "(opts...),")
	}
	g.P("})")
	g.P("}")
	g.P()
}

// signature returns the parameter and result list of a server method, with
// the given parameter names ("" leaves them unnamed).
func signature(g *protogen.GeneratedFile, mm *methodModel, ctxName, reqName, streamName string) string {
	m := mm.m
	in, out := g.QualifiedGoIdent(m.Input.GoIdent), g.QualifiedGoIdent(m.Output.GoIdent)
	named := func(name, typ string) string {
		if name == "" {
			return typ
		}
		return name + " " + typ
	}
	switch mm.kind {
	case serverStreaming:
		return "(" + named(reqName, "*"+in) + ", " + named(streamName, g.QualifiedGoIdent(grpcPackage.Ident("ServerStreamingServer"))+"["+out+"]") + ") error"
	case clientStreaming:
		return "(" + named(streamName, g.QualifiedGoIdent(grpcPackage.Ident("ClientStreamingServer"))+"["+in+", "+out+"]") + ") error"
	case bidiStreaming:
		return "(" + named(streamName, g.QualifiedGoIdent(grpcPackage.Ident("BidiStreamingServer"))+"["+in+", "+out+"]") + ") error"
	}
	return "(" + named(ctxName, g.QualifiedGoIdent(contextPackage.Ident("Context"))) + ", " + named(reqName, "*"+in) + ") (*" + out + ", error)"
}

func emitUnimplementedMethod(g *protogen.GeneratedFile, sm *serviceModel, mm *methodModel) {
	m := mm.m
	docComment(g, m.GoName+" answers codes.Unimplemented naming "+string(m.Desc.FullName())+";\n"+
		"override it to serve the method.",
		m.Comments.Leading, mm.deprecated)
	g.P("func (", sm.names.Skeleton, ") ", m.GoName, signature(g, mm, "", "", ""), " {")
	g.P("return ", unimplementedResult(g, mm))
	g.P("}")
	g.P()
}

func unimplementedResult(g *protogen.GeneratedFile, mm *methodModel) string {
	call := g.QualifiedGoIdent(svcserverPackage.Ident("Unimplemented")) + "(" + mm.fullMethod + ")"
	if mm.kind == unary {
		return "nil, " + call
	}
	return call
}

// emitStandardMethod writes a method served from its resource's repository.
// home is the Go import path of the file.
func emitStandardMethod(g *protogen.GeneratedFile, home protogen.GoImportPath, sm *serviceModel, mm *methodModel) {
	m, std := mm.m, mm.std
	r := std.resource
	// The names of the receiver, parameters and variables, free of the
	// imports the body refers to.
	v := newLocalNames(home, m.Input, m.Output, r.msg)
	recv, ctx, req, stream, errv := v.of("s"), v.of("ctx"), v.of("req"), v.of("stream"), v.of("err")
	docComment(g, m.GoName+" "+std.describe()+";\n"+
		"without one it answers codes.Unimplemented. Override it to serve the method yourself.",
		m.Comments.Leading, mm.deprecated)
	g.P("func (", recv, " ", sm.names.Skeleton, ") ", m.GoName, signature(g, mm, ctx, req, stream), " {")
	repo := recv + ".repos." + r.skeletonField
	g.P("if ", repo, " == nil {")
	g.P("return ", unimplementedResult(g, mm))
	g.P("}")
	a := goAccess{g}
	getter := func(f *protogen.Field) string { return req + ".Get" + f.GoName + "()" }
	ret := func(values ...string) {
		if len(values) == 1 {
			g.P("return ", values[0])
			return
		}
		g.P("return ", values[0], ", ", values[1])
	}
	returnOnError := func(results string) {
		g.P("if ", errv, " != nil {")
		g.P("return ", results, errv)
		g.P("}")
	}
	switch std.kind {
	case stdGet:
		if std.wrap == nil {
			ret(repo + ".Get(" + ctx + ", " + getter(std.key) + ")")
			break
		}
		res := v.of("res")
		g.P(res, ", ", errv, " := ", repo, ".Get(", ctx, ", ", getter(std.key), ")")
		returnOnError("nil, ")
		ret(a.newMessage(m.Output, std.wrap.GoName, res), "nil")
	case stdList:
		items, next := v.of("items"), v.of("next")
		g.P(items, ", ", next, ", ", errv, " := ", repo, ".List(", ctx, ", int(", getter(std.pageSize), "), ", getter(std.pageToken), ")")
		returnOnError("nil, ")
		ret(a.newMessage(m.Output, std.items.GoName, items, std.nextToken.GoName, next), "nil")
	case stdListStream:
		pageSize, firstToken := "0", `""`
		if std.pageSize != nil {
			pageSize = "int(" + getter(std.pageSize) + ")"
		}
		if std.pageToken != nil {
			firstToken = getter(std.pageToken)
		}
		token, items, next, item := v.of("token"), v.of("items"), v.of("next"), v.of("item")
		g.P(token, " := ", firstToken)
		g.P("for {")
		g.P(items, ", ", next, ", ", errv, " := ", repo, ".List(", stream, ".Context(), ", pageSize, ", ", token, ")")
		returnOnError("")
		g.P("for _, ", item, " := range ", items, " {")
		g.P("if ", errv, " := ", stream, ".Send(", item, "); ", errv, " != nil {")
		g.P("return ", errv)
		g.P("}")
		g.P("}")
		g.P(`if `, next, ` == "" {`)
		g.P("return nil")
		g.P("}")
		g.P(token, " = ", next)
		g.P("}")
	case stdCreate:
		if std.id == nil {
			ret(repo + ".Create(" + ctx + ", " + getter(std.body) + ")")
			break
		}
		msg, idv := v.of("msg"), v.of("id")
		g.P(msg, " := ", getter(std.body))
		g.P(`if `, idv, ` := `, getter(std.id), `; `, idv, ` != "" && `, msg, ` != nil {`)
		g.P("// The request's id names the resource, as AIP-133 says; the")
		g.P("// request itself stays as the caller made it.")
		g.P(msg, " = ", protoPackage.Ident("CloneOf"), "(", msg, ")")
		id := idv
		if r.keyPrefix != "" {
			id = strconv.Quote(r.keyPrefix) + " + " + idv
		}
		g.P(a.set(msg, r.msg, r.key, id))
		g.P("}")
		ret(repo + ".Create(" + ctx + ", " + msg + ")")
	case stdCreateFlat:
		var fields []string
		for _, p := range std.flat {
			fields = append(fields, p.res.GoName, req+"."+p.req.GoName)
		}
		ret(repo + ".Create(" + ctx + ", " + a.newMessage(r.msg, fields...) + ")")
	case stdCreateStream:
		var out string
		created := v.of("created")
		if std.items != nil {
			g.P("var ", created, " []*", r.msg.GoIdent)
			out = a.newMessage(m.Output, std.items.GoName, created)
		} else {
			out = "&" + g.QualifiedGoIdent(emptypbPackage.Ident("Empty")) + "{}"
		}
		msg := v.of("msg")
		g.P("for {")
		g.P(msg, ", ", errv, " := ", stream, ".Recv()")
		g.P("if ", errv, " == ", ioPackage.Ident("EOF"), " {")
		g.P("return ", stream, ".SendAndClose(", out, ")")
		g.P("}")
		returnOnError("")
		if std.items != nil {
			res := v.of("res")
			g.P(res, ", ", errv, " := ", repo, ".Create(", stream, ".Context(), ", msg, ")")
			returnOnError("")
			g.P(created, " = append(", created, ", ", res, ")")
		} else {
			g.P("if _, ", errv, " := ", repo, ".Create(", stream, ".Context(), ", msg, "); ", errv, " != nil {")
			g.P("return ", errv)
			g.P("}")
		}
		g.P("}")
	case stdUpdate:
		mask := "nil"
		if std.mask != nil {
			mask = getter(std.mask)
		}
		ret(repo + ".Update(" + ctx + ", " + getter(std.body) + ", " + mask + ")")
	case stdUpdateOptional:
		msg, paths := v.of("msg"), v.of("paths")
		g.P(msg, " := ", a.newMessage(r.msg, r.key.GoName, getter(std.key)))
		g.P("var ", paths, " []string")
		for _, p := range std.flat {
			g.P("if ", req, ".", p.req.GoName, " != nil {")
			value := req + "." + p.req.GoName
			if p.res.Message == nil && !p.res.Desc.HasPresence() {
				value = getter(p.req)
			}
			g.P(msg, ".", p.res.GoName, " = ", value)
			g.P(paths, " = append(", paths, ", ", strconv.Quote(string(p.res.Desc.Name())), ")")
			g.P("}")
		}
		g.P("if len(", paths, ") == 0 {")
		g.P("// Nothing to set; an empty mask would mean \"replace everything\".")
		ret(repo + ".Get(" + ctx + ", " + getter(std.key) + ")")
		g.P("}")
		ret(repo + ".Update(" + ctx + ", " + msg + ", &" + g.QualifiedGoIdent(fieldmaskPackage.Ident("FieldMask")) + "{Paths: " + paths + "})")
	case stdDelete:
		etag := `""`
		if std.etag != nil {
			etag = getter(std.etag)
		}
		if std.returnsMsg {
			ret(repo + ".Delete(" + ctx + ", " + getter(std.key) + ", " + etag + ")")
			break
		}
		g.P("if _, ", errv, " := ", repo, ".Delete(", ctx, ", ", getter(std.key), ", ", etag, "); ", errv, " != nil {")
		g.P("return nil, ", errv)
		g.P("}")
		ret("&"+g.QualifiedGoIdent(emptypbPackage.Ident("Empty"))+"{}", "nil")
	}
	g.P("}")
	g.P()
}

package gen

import (
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
)

// repositoriesMethod is the skeleton's accessor of its repositories; no
// method of the service may have its name (see buildFile).
const repositoriesMethod = "Repositories"

// emitServer writes the server skeleton of every service in the file.
func emitServer(g *protogen.GeneratedFile, f *fileModel) {
	for _, sm := range f.services {
		emitSkeleton(g, f, sm)
	}
}

func emitSkeleton(g *protogen.GeneratedFile, f *fileModel, sm *serviceModel) {
	n := sm.names
	withRepos := f.params.Artifacts[ArtifactRepo]
	first := n.Skeleton + " is a ready implementation of " + n.Server + ": embed it by value\n" +
		"in your own type and override the methods you serve. Every method you do\n" +
		"not override answers codes.Unimplemented with the method's full name, so\n" +
		"adding a method to the service and regenerating keeps your type compiling."
	if withRepos {
		first += "\nStandard methods are served from the repositories given to " + n.NewSkeleton + ";\n" +
			"a zero " + n.Skeleton + " has none and answers Unimplemented for them too."
	}
	docComment(g, first, sm.svc.Comments.Leading, sm.deprecated)
	g.P("type ", n.Skeleton, " struct {")
	g.P(n.Unimplemented)
	if withRepos {
		g.P("repos ", n.Repositories)
	}
	g.P("}")
	g.P()
	g.P("var _ ", n.Server, " = ", n.Skeleton, "{}")
	g.P()
	if withRepos {
		emitRepositories(g, f, sm)
	}
	for _, mm := range sm.methods {
		if mm.std != nil {
			emitStandardMethod(g, f.file.GoImportPath, sm, mm)
		} else {
			emitUnimplementedMethod(g, sm, mm)
		}
	}
}

// emitRepositories writes the repository set of a skeleton and its
// constructors. Every service has them, with or without resources, so the
// same code starts any service.
func emitRepositories(g *protogen.GeneratedFile, f *fileModel, sm *serviceModel) {
	n := sm.names
	g.P("// ", n.Repositories, " holds the repositories ", n.Skeleton, " serves standard")
	g.P("// methods from. A nil repository leaves its methods Unimplemented.")
	g.P("type ", n.Repositories, " struct {")
	for _, r := range sm.resources {
		g.P(sm.repoField(r), " ", repositoryType(g, f, r))
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
	opts := "opts"
	if len(sm.resources) == 0 {
		g.P("// ", n.NewInMemorySkeleton, " returns a skeleton for a service that manages no")
		g.P("// resources: every method answers Unimplemented until you override it. It")
		g.P("// exists so that every service starts the same way; opts are not used.")
		opts = "_"
	} else {
		g.P("// ", n.NewInMemorySkeleton, " returns a skeleton that serves standard methods from")
		g.P("// new, empty in-memory repositories, each configured with opts.")
	}
	g.P("func ", n.NewInMemorySkeleton, "(", opts, " ...", svcstorePackage.Ident("Option"), ") ", n.Skeleton, " {")
	g.P("return ", n.NewSkeleton, "(", n.Repositories, "{")
	for _, r := range sm.resources {
		g.P(sm.repoField(r), ": ", newInMemoryRepository(g, f, r, "opts"), ",")
	}
	g.P("})")
	g.P("}")
	g.P()
}

// repositoryType is the Go type of r's repository: the alias the file
// declares, or the generic interface for a resource of another file (whose
// generated code this file does not rely on).
func repositoryType(g *protogen.GeneratedFile, f *fileModel, r *resourceModel) string {
	if f.declares(r) {
		return r.repository
	}
	return g.QualifiedGoIdent(svcstorePackage.Ident("Repository")) + "[*" + g.QualifiedGoIdent(r.msg.GoIdent) + "]"
}

// newInMemoryRepository is the expression creating an in-memory repository
// of r with the options opts.
func newInMemoryRepository(g *protogen.GeneratedFile, f *fileModel, r *resourceModel, opts string) string {
	if f.declares(r) {
		return r.newInMemory + "(" + opts + "...)"
	}
	return g.QualifiedGoIdent(svcstorePackage.Ident("MustNew")) + "[*" + g.QualifiedGoIdent(r.msg.GoIdent) + "](" + schemaLiteral(g, r) + ", " + opts + "...)"
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
	text := m.GoName + " answers codes.Unimplemented naming " + string(m.Desc.FullName()) + ";\n" +
		"override it to serve the method."
	if mm.notServed != "" {
		text += "\nIt is not served from a repository: " + mm.notServed + "."
	}
	docComment(g, text, m.Comments.Leading, mm.deprecated)
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

// emitStandardMethod writes a method served from its resource's repository:
// the doc comment that says what it does and how, the repository check, and
// the shape's body. home is the Go import path of the file.
func emitStandardMethod(g *protogen.GeneratedFile, home protogen.GoImportPath, sm *serviceModel, mm *methodModel) {
	m, std := mm.m, mm.std
	w := newMethodWriter(g, home, sm, mm)
	text := m.GoName + " " + std.summary + ",\nfrom the " + sm.repoField(std.resource) + " repository (" + std.resource.keyWhy + ")."
	if len(std.notes) > 0 {
		text += "\nNotes:"
		for _, note := range std.notes {
			text += "\n  - " + note
		}
	}
	text += "\nWithout the repository it answers codes.Unimplemented. Override it to serve\nthe method yourself."
	docComment(g, text, m.Comments.Leading, mm.deprecated)
	g.P("func (", w.recv, " ", sm.names.Skeleton, ") ", m.GoName, signature(g, mm, w.ctx, w.req, w.stream), " {")
	g.P("if ", w.repo, " == nil {")
	g.P("return ", unimplementedResult(g, mm))
	g.P("}")
	std.shape.emit(w)
	g.P("}")
	g.P()
}

// explainLine is the one-line account of a method for the explain report.
func (mm *methodModel) explainLine(sm *serviceModel) string {
	if mm.std == nil {
		return "Unimplemented: " + mm.notServed
	}
	line := "served from " + sm.repoField(mm.std.resource) + ": " + mm.std.summary
	if len(mm.std.notes) > 0 {
		line += " [" + strings.Join(mm.std.notes, "; ") + "]"
	}
	return line
}

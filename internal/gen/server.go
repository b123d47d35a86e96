package gen

import (
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
)

// repositoriesMethod is the skeleton's accessor of its repositories; no
// method of the service may have its name (see buildFile).
const repositoriesMethod = "Repositories"

// serverView is the data of templates/server.go.tmpl.
type serverView struct {
	Services []skeletonView
}

type skeletonView struct {
	Doc                 string // the skeleton's doc comment, "//" lines
	Skeleton            string
	Server              string
	Unimplemented       string
	WithRepos           bool // the repo artifact is on: repositories and constructors
	Repositories        string
	NewSkeleton         string
	NewInMemorySkeleton string
	OptionType          protogen.GoIdent
	Resources           []repositoryFieldView
	Methods             []skeletonMethodView
}

type repositoryFieldView struct {
	Field       string // Book, V1Item
	Type        string // BookRepository, svcstore.Repository[*v1.Item]
	NewInMemory string // the in-memory repository, with the skeleton's opts
}

type skeletonMethodView struct {
	Doc           string
	Receiver      string // "s LibrarySkeleton", or the bare type
	Name          string
	Signature     string
	Unimplemented string // what the method returns when it does not serve
	Repository    string // s.repos.Book, for a standard method
	Body          string // a standard method's body after the repository check
}

// emitServer writes the server skeleton of every service in the file.
func emitServer(g *protogen.GeneratedFile, f *fileModel) error {
	var v serverView
	for _, sm := range f.services {
		v.Services = append(v.Services, skeletonOf(g, f, sm))
	}
	return render(g, f, serverTemplate, v)
}

func skeletonOf(g *protogen.GeneratedFile, f *fileModel, sm *serviceModel) skeletonView {
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
	if withRepos && sm.hasOperations() {
		first += "\n\n" + operationsDoc(sm)
	}
	v := skeletonView{
		Doc:                 docText(first, sm.svc.Comments.Leading, sm.deprecated),
		Skeleton:            n.Skeleton,
		Server:              n.Server,
		Unimplemented:       n.Unimplemented,
		WithRepos:           withRepos,
		Repositories:        n.Repositories,
		NewSkeleton:         n.NewSkeleton,
		NewInMemorySkeleton: n.NewInMemorySkeleton,
		OptionType:          svcstorePackage.Ident("Option"),
	}
	for _, r := range sm.resources {
		v.Resources = append(v.Resources, repositoryFieldView{
			Field:       sm.repoField(r),
			Type:        repositoryType(g, f, r),
			NewInMemory: newInMemoryRepository(g, f, r, "opts"),
		})
	}
	if withRepos && sm.hasOperations() {
		v.Resources = append(v.Resources, operationsRepository(g, sm))
	}
	if withRepos && sm.hasRequestIDs() {
		v.Resources = append(v.Resources, requestsRepository(g, sm))
	}
	if withRepos && sm.hasPolicies() {
		v.Resources = append(v.Resources, policiesRepository(g, sm))
	}
	for _, mm := range sm.methods {
		if mm.iam != "" {
			v.Methods = append(v.Methods, iamMethodOf(g, f.file.GoImportPath, sm, mm))
		} else if mm.std != nil {
			v.Methods = append(v.Methods, standardMethodOf(g, f.file.GoImportPath, sm, mm))
		} else {
			v.Methods = append(v.Methods, unimplementedMethodOf(g, sm, mm))
		}
	}
	return v
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

func unimplementedMethodOf(g *protogen.GeneratedFile, sm *serviceModel, mm *methodModel) skeletonMethodView {
	m := mm.m
	text := m.GoName + " answers codes.Unimplemented naming " + string(m.Desc.FullName()) + ";\n" +
		"override it to serve the method."
	if mm.notServed != "" {
		text += "\nIt is not served from a repository: " + mm.notServed + "."
	}
	return skeletonMethodView{
		Doc:           docText(text, m.Comments.Leading, mm.deprecated),
		Receiver:      sm.names.Skeleton,
		Name:          m.GoName,
		Signature:     signature(g, mm, "", "", ""),
		Unimplemented: unimplementedResult(g, mm),
	}
}

func unimplementedResult(g *protogen.GeneratedFile, mm *methodModel) string {
	call := g.QualifiedGoIdent(svcserverPackage.Ident("Unimplemented")) + "(" + mm.fullMethod + ")"
	if mm.kind == unary {
		return "nil, " + call
	}
	return call
}

// standardMethodOf is a method served from its resource's repository: the
// doc comment that says what it does and how, and the shape's body. home
// is the Go import path of the file.
func standardMethodOf(g *protogen.GeneratedFile, home protogen.GoImportPath, sm *serviceModel, mm *methodModel) skeletonMethodView {
	m, std := mm.m, mm.std
	w := newMethodWriter(g, home, sm, mm)
	text := m.GoName + " " + std.summary + ", from the " + sm.repoField(std.resource) + " repository (" + std.resource.keyWhy + ")." +
		" Without the repository it answers codes.Unimplemented. Override it to serve the method yourself."
	if len(std.notes) > 0 {
		text += "\n\nNotes:"
		for _, note := range std.notes {
			text += "\n  - " + note
		}
	}
	if std.out.lro != nil {
		w.operationsGuard()
	}
	if std.out.ownOp != nil {
		w.ownOperationGuard()
	}
	if std.requestID != nil {
		w.replayPrologue()
	}
	std.shape.emit(w)
	return skeletonMethodView{
		Doc:           docText(text, m.Comments.Leading, mm.deprecated),
		Receiver:      w.recv + " " + sm.names.Skeleton,
		Name:          m.GoName,
		Signature:     signature(g, mm, w.ctx, w.req, w.stream),
		Unimplemented: unimplementedResult(g, mm),
		Repository:    w.repo,
		Body:          strings.TrimSuffix(w.buf.String(), "\n"),
	}
}

// explainLine is the one-line account of a method for the explain report.
func (mm *methodModel) explainLine(sm *serviceModel) string {
	if mm.iam != "" {
		return mm.iamExplainLine(sm)
	}
	if mm.std == nil {
		return "Unimplemented: " + mm.notServed
	}
	line := "served from " + sm.repoField(mm.std.resource) + ": " + mm.std.summary
	if len(mm.std.notes) > 0 {
		line += " [" + strings.Join(mm.std.notes, "; ") + "]"
	}
	return line
}

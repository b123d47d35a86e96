package gen

import (
	"google.golang.org/protobuf/compiler/protogen"
)

// emitServer writes the server skeleton of every service in the file.
func emitServer(g *protogen.GeneratedFile, f *fileModel) {
	for _, sm := range f.services {
		emitSkeleton(g, sm)
	}
}

func emitSkeleton(g *protogen.GeneratedFile, sm *serviceModel) {
	n := sm.names
	docComment(g, n.Skeleton+" is a ready implementation of "+n.Server+": embed it by value\n"+
		"in your own type and override the methods you serve. Every method you do\n"+
		"not override answers codes.Unimplemented with the method's full name, so\n"+
		"adding a method to the service and regenerating keeps your type compiling.",
		sm.svc.Comments.Leading, sm.deprecated)
	g.P("type ", n.Skeleton, " struct {")
	g.P(n.Unimplemented)
	g.P("}")
	g.P()
	g.P("var _ ", n.Server, " = ", n.Skeleton, "{}")
	g.P()
	for _, mm := range sm.methods {
		emitSkeletonMethod(g, sm, mm)
	}
}

func emitSkeletonMethod(g *protogen.GeneratedFile, sm *serviceModel, mm *methodModel) {
	m := mm.m
	docComment(g, m.GoName+" answers codes.Unimplemented naming "+string(m.Desc.FullName())+";\n"+
		"override it to serve the method.",
		m.Comments.Leading, mm.deprecated)
	in, out := g.QualifiedGoIdent(m.Input.GoIdent), g.QualifiedGoIdent(m.Output.GoIdent)
	var sig string
	switch mm.kind {
	case unary:
		sig = "(" + g.QualifiedGoIdent(contextPackage.Ident("Context")) + ", *" + in + ") (*" + out + ", error)"
	case serverStreaming:
		sig = "(*" + in + ", " + g.QualifiedGoIdent(grpcPackage.Ident("ServerStreamingServer")) + "[" + out + "]) error"
	case clientStreaming:
		sig = "(" + g.QualifiedGoIdent(grpcPackage.Ident("ClientStreamingServer")) + "[" + in + ", " + out + "]) error"
	case bidiStreaming:
		sig = "(" + g.QualifiedGoIdent(grpcPackage.Ident("BidiStreamingServer")) + "[" + in + ", " + out + "]) error"
	}
	g.P("func (", sm.names.Skeleton, ") ", m.GoName, sig, " {")
	unimplemented := g.QualifiedGoIdent(svcserverPackage.Ident("Unimplemented")) + "(" + mm.fullMethod + ")"
	if mm.kind == unary {
		g.P("return nil, ", unimplemented)
	} else {
		g.P("return ", unimplemented)
	}
	g.P("}")
	g.P()
}

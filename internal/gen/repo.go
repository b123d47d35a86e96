package gen

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
)

// emitRepo writes, for every resource the file declares and its services
// serve, the repository interface, its schema and the in-memory
// constructor.
func emitRepo(g *protogen.GeneratedFile, f *fileModel) {
	for _, r := range f.repositories {
		msg := g.QualifiedGoIdent(r.msg.GoIdent)
		name := string(r.msg.Desc.FullName())
		g.P("// ", r.repository, " stores ", name, " resources by key: ", r.keyWhy, ".")
		if keyKindOf(r.key) != keyString {
			g.P("// The repository's key is the decimal form of the integer; keys are ordered as numbers.")
		}
		g.P("// Every error is a gRPC status error; svcstore/storetest is its executable")
		g.P("// specification, for implementations backed by a real database.")
		g.P("type ", r.repository, " = ", svcstorePackage.Ident("Repository"), "[*", msg, "]")
		g.P()
		g.P("// ", r.schema, " says where the key, etag and timestamps of a ", name)
		g.P("// are, for svcstore and for repository implementations.")
		g.P("func ", r.schema, "() ", svcstorePackage.Ident("Schema"), " {")
		g.P("return ", svcstorePackage.Ident("Schema"), "{")
		for _, f := range schemaFields(r) {
			g.P(f, ",")
		}
		g.P("}")
		g.P("}")
		g.P()
		g.P("// ", r.newInMemory, " returns an empty, thread-safe, ordered, in-memory")
		g.P("// ", r.repository, ". It panics only when given invalid options, a programming error.")
		opts := newLocalNames(f.file.GoImportPath, r.msg).of("opts")
		g.P("func ", r.newInMemory, "(", opts, " ...", svcstorePackage.Ident("Option"), ") *", svcstorePackage.Ident("Memory"), "[*", msg, "] {")
		g.P("return ", svcstorePackage.Ident("MustNew"), "[*", msg, "](", r.schema, "(), ", opts, "...)")
		g.P("}")
		g.P()
	}
}

// schemaLiteral is the svcstore.Schema of r as a composite literal.
func schemaLiteral(g *protogen.GeneratedFile, r *resourceModel) string {
	return g.QualifiedGoIdent(svcstorePackage.Ident("Schema")) + "{" + strings.Join(schemaFields(r), ", ") + "}"
}

// schemaFields are the fields of r's svcstore.Schema, as Go (Name: value).
func schemaFields(r *resourceModel) []string {
	fields := []string{"KeyField: " + strconv.Quote(string(r.key.Desc.Name()))}
	if r.keyPrefix != "" {
		fields = append(fields, "KeyPrefix: "+strconv.Quote(r.keyPrefix))
	}
	if r.etag != nil {
		fields = append(fields, "EtagField: "+strconv.Quote(string(r.etag.Desc.Name())))
	}
	if r.createTime != nil {
		fields = append(fields, "CreateTimeField: "+strconv.Quote(string(r.createTime.Desc.Name())))
	}
	if r.updateTime != nil {
		fields = append(fields, "UpdateTimeField: "+strconv.Quote(string(r.updateTime.Desc.Name())))
	}
	return fields
}

package gen

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
)

const svcstorePackage = protogen.GoImportPath("github.com/svcgen/protoc-gen-svc/svcstore")

// emitRepo writes, for every resource the file declares, the repository
// interface, its schema and the in-memory constructor.
func emitRepo(g *protogen.GeneratedFile, f *fileModel) {
	for _, r := range f.repositories {
		msg := g.QualifiedGoIdent(r.msg.GoIdent)
		name := string(r.msg.Desc.FullName())
		g.P("// ", r.repository, " stores ", name, " resources, keyed by their ", r.key.Desc.Name(), " field.")
		g.P("// Every error is a gRPC status error; svcstore/storetest is its executable")
		g.P("// specification, for implementations backed by a real database.")
		g.P("type ", r.repository, " = ", svcstorePackage.Ident("Repository"), "[*", msg, "]")
		g.P()
		g.P("// ", r.schema, " says where the key, etag and timestamps of a ", name)
		g.P("// are, for svcstore and for repository implementations.")
		g.P("func ", r.schema, "() ", svcstorePackage.Ident("Schema"), " {")
		g.P("return ", svcstorePackage.Ident("Schema"), "{")
		g.P("KeyField: ", strconv.Quote(string(r.key.Desc.Name())), ",")
		if r.keyPrefix != "" {
			g.P("KeyPrefix: ", strconv.Quote(r.keyPrefix), ",")
		}
		if r.etag != nil {
			g.P("EtagField: ", strconv.Quote(string(r.etag.Desc.Name())), ",")
		}
		if r.createTime != nil {
			g.P("CreateTimeField: ", strconv.Quote(string(r.createTime.Desc.Name())), ",")
		}
		if r.updateTime != nil {
			g.P("UpdateTimeField: ", strconv.Quote(string(r.updateTime.Desc.Name())), ",")
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

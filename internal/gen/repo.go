package gen

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
)

// repoView is the data of templates/repo.go.tmpl.
type repoView struct {
	Repositories []repositoryView
}

type repositoryView struct {
	FullName     string // shop.v1.Product
	Message      protogen.GoIdent
	Repository   string // ProductRepository
	KeyWhy       string
	IntegerKey   bool
	Schema       string // ProductSchema
	SchemaFields []string
	NewInMemory  string // NewInMemoryProductRepository
	Opts         string // the constructor's parameter, free of the imports it uses

	RepositoryType, SchemaType, OptionType, MemoryType, MustNew protogen.GoIdent
}

// emitRepo writes, for every resource the file declares and its services
// serve, the repository interface, its schema and the in-memory
// constructor.
func emitRepo(g *protogen.GeneratedFile, f *fileModel) error {
	var v repoView
	for _, r := range f.repositories {
		v.Repositories = append(v.Repositories, repositoryView{
			FullName:       string(r.msg.Desc.FullName()),
			Message:        r.msg.GoIdent,
			Repository:     r.repository,
			KeyWhy:         r.keyWhy,
			IntegerKey:     keyKindOf(r.key) != keyString,
			Schema:         r.schema,
			SchemaFields:   alignFields(schemaFields(r, f.implied[r]), "\t\t"),
			NewInMemory:    r.newInMemory,
			Opts:           newLocalNames(f.file.GoImportPath, r.msg).of("opts"),
			RepositoryType: svcstorePackage.Ident("Repository"),
			SchemaType:     svcstorePackage.Ident("Schema"),
			OptionType:     svcstorePackage.Ident("Option"),
			MemoryType:     svcstorePackage.Ident("Memory"),
			MustNew:        svcstorePackage.Ident("MustNew"),
		})
	}
	return render(g, f, repoTemplate, v)
}

// schemaLiteral is the svcstore.Schema of r as a composite literal.
func schemaLiteral(g *protogen.GeneratedFile, r *resourceModel) string {
	return g.QualifiedGoIdent(svcstorePackage.Ident("Schema")) + "{" + strings.Join(schemaFields(r, nil), ", ") + "}"
}

// schemaFields are the fields of r's svcstore.Schema, as Go (Name: value),
// with the declared indexes and then the implied ones.
func schemaFields(r *resourceModel, implied []string) []string {
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
	if ixs := append(append([]string(nil), r.indexes...), implied...); len(ixs) > 0 {
		quoted := make([]string, len(ixs))
		for i, ix := range ixs {
			quoted[i] = strconv.Quote(ix)
		}
		fields = append(fields, "Indexes: []string{"+strings.Join(quoted, ", ")+"}")
	}
	return fields
}

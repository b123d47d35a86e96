package gen

import (
	"fmt"
	"maps"
	"path"
	"slices"

	"google.golang.org/protobuf/compiler/protogen"
)

// packageNames records the package-level Go identifiers of one Go package:
// those protoc-gen-go and protoc-gen-go-grpc declare for every proto file in
// the package, then those protoc-gen-svc claims. A name is owned once; a
// second claim is a collision reported with both owners.
type packageNames struct {
	owner map[string]string // identifier -> the element that declares it
}

// indexPackages indexes the identifiers of protoc-gen-go and
// protoc-gen-go-grpc output for every Go package in the request.
func indexPackages(plugin *protogen.Plugin) map[protogen.GoImportPath]*packageNames {
	pkgs := map[protogen.GoImportPath]*packageNames{}
	for _, f := range plugin.Files {
		pkg := pkgs[f.GoImportPath]
		if pkg == nil {
			pkg = &packageNames{owner: map[string]string{}}
			pkgs[f.GoImportPath] = pkg
		}
		pkg.addFile(f)
	}
	return pkgs
}

// addFile records what protoc-gen-go and protoc-gen-go-grpc declare for f.
// The first declaration of a name wins; duplicates among them are theirs to
// report, not ours.
func (p *packageNames) addFile(f *protogen.File) {
	path := f.Desc.Path()
	add := func(name, what string) {
		if _, ok := p.owner[name]; !ok {
			p.owner[name] = fmt.Sprintf("%s (%s)", what, path)
		}
	}
	add(f.GoDescriptorIdent.GoName, "protoc-gen-go's file descriptor variable")
	addEnum := func(e *protogen.Enum) {
		what := "enum " + string(e.Desc.FullName())
		add(e.GoIdent.GoName, what)
		add(e.GoIdent.GoName+"_name", what)
		add(e.GoIdent.GoName+"_value", what)
		for _, v := range e.Values {
			add(v.GoIdent.GoName, "enum value "+string(v.Desc.FullName()))
		}
	}
	var addMessage func(m *protogen.Message)
	addMessage = func(m *protogen.Message) {
		what := "message " + string(m.Desc.FullName())
		add(m.GoIdent.GoName, what)
		for _, field := range m.Fields {
			if field.Oneof != nil && !field.Oneof.Desc.IsSynthetic() {
				add(field.GoIdent.GoName, "oneof field "+string(field.Desc.FullName()))
			}
			if field.Desc.HasDefault() {
				add("Default_"+m.GoIdent.GoName+"_"+field.GoName, "default of field "+string(field.Desc.FullName()))
			}
		}
		for _, e := range m.Enums {
			addEnum(e)
		}
		for _, nested := range m.Messages {
			addMessage(nested)
		}
		for _, x := range m.Extensions {
			add(x.GoIdent.GoName, "extension "+string(x.Desc.FullName()))
		}
	}
	for _, e := range f.Enums {
		addEnum(e)
	}
	for _, m := range f.Messages {
		addMessage(m)
	}
	for _, x := range f.Extensions {
		add(x.GoIdent.GoName, "extension "+string(x.Desc.FullName()))
	}
	for _, svc := range f.Services {
		what := "protoc-gen-go-grpc's code for service " + string(svc.Desc.FullName())
		n := namesFor(svc)
		for _, name := range []string{n.Client, n.NewClient, n.Server, n.Unimplemented, n.Register,
			"Unsafe" + svc.GoName + "Server", svc.GoName + "_ServiceDesc"} {
			add(name, what)
		}
		for _, m := range svc.Methods {
			for _, suffix := range []string{"_FullMethodName", "Client", "Server"} {
				add(svc.GoName+"_"+m.GoName+suffix, what)
			}
		}
	}
}

// claimGenerated claims the identifiers protoc-gen-svc declares for the
// services and repositories of a file. A name already owned (by
// protoc-gen-go, protoc-gen-go-grpc, or protoc-gen-svc for another file or
// service of the package) is never an error: like protoc-gen-go, which
// appends "_" to a name that conflicts, the identifier gets underscores
// appended until it is free. Files are claimed in path order, so the
// alternative is the same for the same request. Each renaming is recorded
// in fm.renamed (new name -> why), for the declaration's doc comment and the
// report.
func (p *packageNames) claimGenerated(fm *fileModel) {
	file := fm.file
	claim := func(id ident, owner string) {
		want := *id.name
		name := want
		for {
			if _, taken := p.owner[name]; !taken {
				break
			}
			name += "_"
		}
		if name != want {
			if fm.renamed == nil {
				fm.renamed = map[string]string{}
			}
			fm.renamed[name] = fmt.Sprintf("Named %s, not %s, because %s is %s.", name, want, want, p.owner[want])
			*id.name = name
		}
		p.owner[name] = owner
	}
	for _, r := range fm.repositories {
		for _, id := range r.generatedIdents() {
			claim(id, fmt.Sprintf("protoc-gen-svc's %s for resource %s (%s)", id.what, r.msg.Desc.FullName(), file.Desc.Path()))
		}
	}
	for _, sm := range fm.services {
		for _, id := range sm.generatedIdents(fm.params) {
			claim(id, fmt.Sprintf("protoc-gen-svc's %s for service %s (%s)", id.what, sm.svc.Desc.FullName(), file.Desc.Path()))
		}
	}
}

// renamings are the report lines of fm's renamed identifiers, in name order.
func (fm *fileModel) renamings() []string {
	var lines []string
	for _, name := range slices.Sorted(maps.Keys(fm.renamed)) {
		lines = append(lines, fmt.Sprintf("warning: %s: %s", fm.file.Desc.Path(), fm.renamed[name]))
	}
	return lines
}

// localNames names the receiver, parameters and variables of one generated
// function so that none hides an import its body refers to. protogen names
// the import of a message's Go package after the last element of the import
// path: in a file of another package, a message of example.com/api/msg is
// msg.Reply, which a variable msg would hide. A wanted name that such an
// import may have gets underscores appended until it is free. (protogen
// adds a number to an import name another import has; no local name here
// ends in a digit or an underscore, so renamed locals never meet either.)
type localNames struct {
	imports []string // the last elements of the import paths referred to
}

// newLocalNames returns the names of a function of a file of Go package
// home that refers to msgs.
func newLocalNames(home protogen.GoImportPath, msgs ...*protogen.Message) localNames {
	var l localNames
	for _, m := range msgs {
		if m != nil && m.GoIdent.GoImportPath != home {
			l.imports = append(l.imports, path.Base(string(m.GoIdent.GoImportPath)))
		}
	}
	return l
}

// of returns the name of the local wanted.
func (l localNames) of(want string) string {
	name := want
	for slices.Contains(l.imports, name) {
		name += "_"
	}
	return name
}

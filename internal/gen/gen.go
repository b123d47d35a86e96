// Package gen holds protoc-gen-svc's code generation: it turns the services
// of a CodeGeneratorRequest into server skeletons, client wrappers and
// repositories, written beside the protoc-gen-go and protoc-gen-go-grpc
// output of the same proto file.
package gen

import (
	"bytes"
	"fmt"
	"sort"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// Version is protoc-gen-svc's version, printed by --version and written into
// every generated file's header.
const Version = "v0.1.0"

// Supported tells protoc and buf which proto features the plugin handles:
// proto3 optional, and editions from proto2 up to 2024, like protoc-gen-go.
func Supported(plugin *protogen.Plugin) {
	plugin.SupportedFeatures = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL |
		pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)
	plugin.SupportedEditionsMinimum = descriptorpb.Edition_EDITION_PROTO2
	plugin.SupportedEditionsMaximum = descriptorpb.Edition_EDITION_2024
}

// output is one generated file per proto file: which artifact it carries,
// the suffix of its name, and the emitter that writes it.
type output struct {
	artifact Artifact
	suffix   string
	emit     func(g *protogen.GeneratedFile, f *fileModel) error
}

// outputs lists, in order, the files written for each proto file with
// services.
var outputs = []output{
	{ArtifactServer, "_svc_server.pb.go", emitServer},
	{ArtifactClient, "_svc_client.pb.go", emitClient},
	{ArtifactRepo, "_svc_repo.pb.go", emitRepo},
}

// Generate writes the artifacts selected by params for every file to
// generate that declares services. Files without services produce nothing.
// It reports the first proto it cannot serve as an error naming the file and
// the element.
func Generate(plugin *protogen.Plugin, params Params) error {
	_, _, err := generate(plugin, params, false)
	return err
}

// generatedFile is a file generate created, with the name it gave it.
type generatedFile struct {
	g    *protogen.GeneratedFile
	name string
	// body is the file's declarations, when generate wrote them here rather
	// than into g, which then holds the header, the package clause and the
	// imports (see canonical).
	body []byte
}

// canonicalArtifacts are the files whose templates write Go as gofmt
// prints it, but for doc comments (see formatDocComments): with canonical,
// generate writes their declarations beside the file, and only the header
// and imports go through go/printer (GeneratedFile.Content).
var canonicalArtifacts = map[Artifact]bool{ArtifactClient: true, ArtifactRepo: true}

// generate is Generate, returning the files it created, in order, and the
// report of what each method does (see report). With canonical, the
// declarations of canonicalArtifacts are kept beside their files (see
// generatedFile), which then only Content can put together.
func generate(plugin *protogen.Plugin, params Params, canonical bool) ([]generatedFile, []string, error) {
	Supported(plugin)
	// Files are modelled in path order, so which error is reported first
	// does not depend on the order of the request.
	var files []*protogen.File
	for _, file := range plugin.Files {
		if file.Generate && len(file.Services) > 0 {
			files = append(files, file)
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Desc.Path() < files[j].Desc.Path() })

	resources := newResourceIndex()
	var models []*fileModel
	for _, file := range files {
		model, err := buildFile(plugin, file, params, resources)
		if err != nil {
			return nil, nil, err
		}
		models = append(models, model)
	}
	packages := indexPackages(plugin)
	for _, model := range models {
		packages[model.file.GoImportPath].claimGenerated(model)
	}
	var generated []generatedFile
	for _, model := range models {
		for _, out := range outputs {
			if !params.Artifacts[out.artifact] || out.artifact == ArtifactRepo && len(model.repositories) == 0 {
				continue
			}
			name := model.file.GeneratedFilenamePrefix + out.suffix
			g := plugin.NewGeneratedFile(name, model.file.GoImportPath)
			emitHeader(g, plugin, model.file)
			gf := generatedFile{g: g, name: name}
			if canonical && canonicalArtifacts[out.artifact] {
				model.body = new(bytes.Buffer)
			}
			err := out.emit(g, model)
			if model.body != nil {
				if body := model.body.Bytes(); needsPrinter(body) {
					g.Write(body) // formatted whole, by Content
				} else {
					gf.body = formatDocComments(body)
				}
				model.body = nil
			}
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %v", name, err)
			}
			generated = append(generated, gf)
		}
	}
	return generated, report(models, params), nil
}

// report is what generation tells the user on stderr: a warning for every
// guess (a key chosen between id and name, a field mapped by its name), and
// with the explain option a line for every method saying how it is served
// or why not.
func report(models []*fileModel, params Params) []string {
	var lines []string
	seen := map[string]bool{}
	for _, fm := range models {
		lines = append(lines, fm.renamings()...)
		for _, sm := range fm.services {
			for _, mm := range sm.methods {
				prefix := fmt.Sprintf("%s: %s: ", fm.file.Desc.Path(), mm.m.Desc.FullName())
				if params.Explain {
					lines = append(lines, prefix+mm.explainLine(sm))
				}
				if mm.std == nil {
					continue
				}
				// A resource's own warnings once, at its first method.
				if r := mm.std.resource; !seen[string(r.msg.Desc.FullName())] {
					seen[string(r.msg.Desc.FullName())] = true
					for _, w := range r.warnings {
						lines = append(lines, fmt.Sprintf("warning: %s: %s: %s", fm.file.Desc.Path(), r.msg.Desc.FullName(), w))
					}
				}
				for _, w := range mm.std.warnings {
					lines = append(lines, "warning: "+prefix+w)
				}
			}
		}
	}
	return lines
}

// emitHeader writes the "Code generated" header with the versions and the
// source file, in protoc-gen-go-grpc's layout, and the package clause.
func emitHeader(g *protogen.GeneratedFile, plugin *protogen.Plugin, file *protogen.File) {
	protocVersion := "(unknown)"
	if v := plugin.Request.GetCompilerVersion(); v != nil {
		protocVersion = fmt.Sprintf("v%d.%d.%d", v.GetMajor(), v.GetMinor(), v.GetPatch())
		if s := v.GetSuffix(); s != "" {
			protocVersion += "-" + s
		}
	}
	g.P("// Code generated by protoc-gen-svc. DO NOT EDIT.")
	g.P("// versions:")
	g.P("// - protoc-gen-svc ", Version)
	g.P("// - protoc         ", protocVersion)
	if file.Proto.GetOptions().GetDeprecated() {
		g.P("// ", file.Desc.Path(), " is a deprecated file.")
	} else {
		g.P("// source: ", file.Desc.Path())
	}
	g.P()
	g.P("package ", file.GoPackageName)
	g.P()
}

// SortResponse orders the generated files by name, so the response's bytes
// do not depend on the order files were listed in the request.
func SortResponse(resp *pluginpb.CodeGeneratorResponse) {
	sort.SliceStable(resp.File, func(i, j int) bool {
		return resp.File[i].GetName() < resp.File[j].GetName()
	})
}

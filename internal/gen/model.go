package gen

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/descriptorpb"
)

// fileModel is everything the emitters need about one proto file, derived
// once before any code is written.
type fileModel struct {
	file     *protogen.File
	params   Params
	services []*serviceModel
}

// serviceModel is one service with every generated name decided.
type serviceModel struct {
	svc        *protogen.Service
	names      serviceNames
	methods    []*methodModel
	deprecated bool
}

// serviceNames holds every package-level identifier generated for a service,
// and those of protoc-gen-go-grpc that generated code refers to, in one
// place, so that collisions are checked once and emitters never build names
// by hand.
type serviceNames struct {
	// protoc-gen-go-grpc's names.
	Server        string // GreeterServer
	Unimplemented string // UnimplementedGreeterServer
	Client        string // GreeterClient
	NewClient     string // NewGreeterClient

	// protoc-gen-svc's names.
	Skeleton string // GreeterSkeleton
}

// rpcKind is the streaming shape of a method.
type rpcKind int

const (
	unary rpcKind = iota
	serverStreaming
	clientStreaming
	bidiStreaming
)

func kindOf(m *protogen.Method) rpcKind {
	switch {
	case m.Desc.IsStreamingClient() && m.Desc.IsStreamingServer():
		return bidiStreaming
	case m.Desc.IsStreamingServer():
		return serverStreaming
	case m.Desc.IsStreamingClient():
		return clientStreaming
	}
	return unary
}

// methodModel is one method with its generated names.
type methodModel struct {
	m          *protogen.Method
	kind       rpcKind
	fullMethod string // protoc-gen-go-grpc's Greeter_SayHello_FullMethodName constant
	deprecated bool
}

// buildFile derives the model of one file and checks that no generated name
// collides with another or with protoc-gen-go / protoc-gen-go-grpc output.
func buildFile(plugin *protogen.Plugin, file *protogen.File, params Params, pkg *packageNames) (*fileModel, error) {
	fm := &fileModel{file: file, params: params}
	for _, svc := range file.Services {
		sm := &serviceModel{
			svc:        svc,
			deprecated: svc.Desc.Options().(*descriptorpb.ServiceOptions).GetDeprecated(),
			names:      namesFor(svc),
		}
		if err := checkMethodNames(file, svc); err != nil {
			return nil, err
		}
		for _, m := range svc.Methods {
			sm.methods = append(sm.methods, &methodModel{
				m:          m,
				kind:       kindOf(m),
				fullMethod: svc.GoName + "_" + m.GoName + "_FullMethodName",
				deprecated: m.Desc.Options().(*descriptorpb.MethodOptions).GetDeprecated(),
			})
		}
		fm.services = append(fm.services, sm)
	}
	if err := pkg.claimGenerated(file, fm); err != nil {
		return nil, err
	}
	return fm, nil
}

func namesFor(svc *protogen.Service) serviceNames {
	n := svc.GoName
	return serviceNames{
		Server:        n + "Server",
		Unimplemented: "Unimplemented" + n + "Server",
		Client:        n + "Client",
		NewClient:     "New" + n + "Client",
		Skeleton:      n + "Skeleton",
	}
}

// generatedIdents lists the package-level identifiers protoc-gen-svc declares
// for a service when the given artifacts are emitted, with what each is.
func (sm *serviceModel) generatedIdents(params Params) []ident {
	var ids []ident
	if params.Artifacts[ArtifactServer] {
		ids = append(ids, ident{sm.names.Skeleton, "server skeleton"})
	}
	return ids
}

type ident struct {
	name string
	what string
}

// checkMethodNames rejects two methods whose Go names are the same (e.g.
// get_book and GetBook): protoc-gen-go-grpc would emit broken code, and so
// would every artifact here.
func checkMethodNames(file *protogen.File, svc *protogen.Service) error {
	seen := map[string]*protogen.Method{}
	for _, m := range svc.Methods {
		if prev, ok := seen[m.GoName]; ok {
			return fmt.Errorf("%s: service %s: methods %s and %s both become the Go method %s; rename one",
				file.Desc.Path(), svc.Desc.FullName(), prev.Desc.Name(), m.Desc.Name(), m.GoName)
		}
		seen[m.GoName] = m
	}
	return nil
}

// docComment writes a Go doc comment: a first paragraph of ours (lines
// separated by \n), then the
// proto element's own leading comment, then a Deprecated paragraph when the
// element is deprecated.
func docComment(g *protogen.GeneratedFile, first string, comments protogen.Comments, deprecated bool) {
	for _, line := range strings.Split(first, "\n") {
		g.P("// ", line)
	}
	if c := strings.TrimSpace(string(comments)); c != "" {
		g.P("//")
		g.P(strings.TrimSuffix(comments.String(), "\n"))
	}
	if deprecated {
		g.P("//")
		g.P("// Deprecated: Do not use.")
	}
}

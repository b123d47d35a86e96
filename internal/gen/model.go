package gen

import (
	"fmt"
	"sort"
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
	// repositories are the resources whose repository this file declares:
	// each resource is declared once per Go package, by the first file (in
	// path order) whose services manage it.
	repositories []*resourceModel
}

// serviceModel is one service with every generated name decided.
type serviceModel struct {
	svc        *protogen.Service
	names      serviceNames
	methods    []*methodModel
	deprecated bool
	// resources are the resources whose standard methods the skeleton
	// serves, ordered by Go name.
	resources []*resourceModel
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
	Register      string // RegisterGreeterServer

	// protoc-gen-svc's names.
	Skeleton            string // GreeterSkeleton
	Repositories        string // GreeterRepositories
	NewSkeleton         string // NewGreeterSkeleton
	NewInMemorySkeleton string // NewInMemoryGreeterSkeleton
	Wrapper             string // GreeterWrapper
	NewWrapper          string // NewGreeterWrapper
	WrapClient          string // WrapGreeterClient
	StartForTest        string // StartGreeterForTest
	MethodPolicies      string // GreeterMethodPolicies
	ServiceConfig       string // GreeterServiceConfig
	policies            string // _Greeter_svcPolicies, the unexported policy table
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
	index      int             // the method's row in the policy table
	policy     callPolicy      // the client policy, resolved from schema and options
	seqName    string          // for server streams: the wrapper's iterator method, e.g. ListBooksSeq
	std        *standardMethod // how the skeleton serves it from a repository; nil: Unimplemented
}

// buildFile derives the model of one file. resources indexes the messages
// examined as resources across the request.
func buildFile(file *protogen.File, params Params, resources *resourceIndex) (*fileModel, error) {
	fm := &fileModel{file: file, params: params}
	for _, svc := range file.Services {
		sm := &serviceModel{
			svc:        svc,
			deprecated: svc.Desc.Options().(*descriptorpb.ServiceOptions).GetDeprecated(),
			names:      namesFor(svc),
		}
		if err := checkMethodNames(file, svc, params); err != nil {
			return nil, err
		}
		servicePolicy, err := servicePolicy(file, svc)
		if err != nil {
			return nil, err
		}
		for i, m := range svc.Methods {
			mm := &methodModel{
				m:          m,
				kind:       kindOf(m),
				fullMethod: svc.GoName + "_" + m.GoName + "_FullMethodName",
				deprecated: m.Desc.Options().(*descriptorpb.MethodOptions).GetDeprecated(),
				index:      i,
			}
			if mm.kind == serverStreaming {
				mm.seqName = m.GoName + seqSuffix
			}
			if mm.policy, err = resolvePolicy(file, svc, m, servicePolicy, params); err != nil {
				return nil, err
			}
			if params.Artifacts[ArtifactRepo] {
				mm.std = recogniseMethod(m, resources)
			}
			sm.methods = append(sm.methods, mm)
		}
		if err := sm.collectResources(file); err != nil {
			return nil, err
		}
		if len(sm.resources) > 0 && params.Artifacts[ArtifactServer] {
			for _, m := range svc.Methods {
				if m.GoName == repositoriesMethod {
					return nil, fmt.Errorf("%s: service %s: method %s collides with the skeleton's %s accessor of its repositories; rename the method, or leave repo out of the artifacts option",
						file.Desc.Path(), svc.Desc.FullName(), m.Desc.Name(), repositoriesMethod)
				}
			}
		}
		fm.services = append(fm.services, sm)
	}
	return fm, nil
}

// collectResources lists the resources the service's standard methods use,
// ordered by Go name, and rejects two that would share a field of the
// repository set.
func (sm *serviceModel) collectResources(file *protogen.File) error {
	byField := map[string]*resourceModel{}
	for _, mm := range sm.methods {
		if mm.std == nil {
			continue
		}
		r := mm.std.resource
		if prev, ok := byField[r.skeletonField]; ok && prev != r {
			return fmt.Errorf("%s: service %s: resources %s and %s have the same Go name %s; rename one, or switch one off with option (svc.v1.resource).enabled = false",
				file.Desc.Path(), sm.svc.Desc.FullName(), prev.msg.Desc.FullName(), r.msg.Desc.FullName(), r.skeletonField)
		}
		if _, ok := byField[r.skeletonField]; !ok {
			byField[r.skeletonField] = r
			sm.resources = append(sm.resources, r)
		}
	}
	sort.Slice(sm.resources, func(i, j int) bool { return sm.resources[i].skeletonField < sm.resources[j].skeletonField })
	return nil
}

func namesFor(svc *protogen.Service) serviceNames {
	n := svc.GoName
	return serviceNames{
		Server:              n + "Server",
		Unimplemented:       "Unimplemented" + n + "Server",
		Client:              n + "Client",
		NewClient:           "New" + n + "Client",
		Register:            "Register" + n + "Server",
		Skeleton:            n + "Skeleton",
		Repositories:        n + "Repositories",
		NewSkeleton:         "New" + n + "Skeleton",
		NewInMemorySkeleton: "NewInMemory" + n + "Skeleton",
		Wrapper:             n + "Wrapper",
		NewWrapper:          "New" + n + "Wrapper",
		WrapClient:          "Wrap" + n + "Client",
		StartForTest:        "Start" + n + "ForTest",
		MethodPolicies:      n + "MethodPolicies",
		ServiceConfig:       n + "ServiceConfig",
		policies:            "_" + n + "_svcPolicies",
	}
}

// generatedIdents lists the package-level identifiers protoc-gen-svc declares
// for a service when the given artifacts are emitted, with what each is.
func (sm *serviceModel) generatedIdents(params Params) []ident {
	var ids []ident
	n := sm.names
	if params.Artifacts[ArtifactServer] {
		ids = append(ids, ident{n.Skeleton, "server skeleton"})
		if len(sm.resources) > 0 {
			ids = append(ids,
				ident{n.Repositories, "repository set of the skeleton"},
				ident{n.NewSkeleton, "skeleton constructor"},
				ident{n.NewInMemorySkeleton, "skeleton constructor"},
			)
		}
	}
	if params.Artifacts[ArtifactClient] {
		ids = append(ids,
			ident{n.Wrapper, "client wrapper"},
			ident{n.NewWrapper, "client wrapper constructor"},
			ident{n.WrapClient, "client wrapper constructor"},
			ident{n.MethodPolicies, "method policy table"},
			ident{n.ServiceConfig, "service config function"},
			ident{n.policies, "method policy table"},
		)
		if params.Artifacts[ArtifactServer] {
			ids = append(ids, ident{n.StartForTest, "test helper"})
		}
	}
	return ids
}

type ident struct {
	name string
	what string
}

// seqSuffix names the iterator method the client wrapper adds for a
// server-streaming method.
const seqSuffix = "Seq"

// checkMethodNames rejects two methods whose Go names are the same (e.g.
// get_book and GetBook): protoc-gen-go-grpc would emit broken code, and so
// would every artifact here. With the client artifact, it also rejects a
// method named like the iterator of a server-streaming one (Watch and
// WatchSeq).
func checkMethodNames(file *protogen.File, svc *protogen.Service, params Params) error {
	seen := map[string]*protogen.Method{}
	for _, m := range svc.Methods {
		if prev, ok := seen[m.GoName]; ok {
			return fmt.Errorf("%s: service %s: methods %s and %s both become the Go method %s; rename one",
				file.Desc.Path(), svc.Desc.FullName(), prev.Desc.Name(), m.Desc.Name(), m.GoName)
		}
		seen[m.GoName] = m
	}
	if !params.Artifacts[ArtifactClient] {
		return nil
	}
	for _, m := range svc.Methods {
		if kindOf(m) != serverStreaming {
			continue
		}
		if other, ok := seen[m.GoName+seqSuffix]; ok {
			return fmt.Errorf("%s: service %s: method %s collides with the iterator method %s%s that the client wrapper adds for server-streaming method %s; rename one, or leave client out of the artifacts option",
				file.Desc.Path(), svc.Desc.FullName(), other.Desc.Name(), m.GoName, seqSuffix, m.Desc.Name())
		}
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

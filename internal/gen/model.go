package gen

import (
	"bytes"
	"fmt"
	"go/token"
	"slices"
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
	// those its services serve whose message the file itself declares. A
	// resource of another file is used through svcstore's generic types, so
	// the file's output depends only on the file and its imports.
	repositories []*resourceModel
	// implied are, per declared repository, the indexes its own file's
	// List methods imply: the resource fields their request fields filter
	// on by equality (category_filter), so that those lists seek instead
	// of scanning. Only this file's methods count, so that the schema
	// depends on the file alone.
	implied map[*resourceModel][]string
	// renamed explains each generated identifier that claimGenerated gave
	// an alternative name, by its new name.
	renamed map[string]string

	// body, while not nil, receives what render writes, instead of the
	// generated file (see canonical).
	body *bytes.Buffer
}

// declares reports whether the file declares r's repository, schema and
// in-memory constructor.
func (f *fileModel) declares(r *resourceModel) bool {
	for _, d := range f.repositories {
		if d == r {
			return true
		}
	}
	return false
}

// serviceModel is one service with every generated name decided.
type serviceModel struct {
	svc        *protogen.Service
	names      serviceNames
	methods    []*methodModel
	deprecated bool
	// resources are the resources whose standard methods the skeleton
	// serves, ordered by the name of their field in the repository set.
	resources []*resourceModel
	// fields names each resource's field in the repository set: its Go
	// name, qualified by its proto package when two resources share it.
	fields map[*resourceModel]string
}

// repoField is the name of r's field in the service's repository set.
func (sm *serviceModel) repoField(r *resourceModel) string { return sm.fields[r] }

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
	ServiceConfig       string // GreeterServiceConfig; for CatalogService: CatalogServiceConfig
	OldServiceConfig    string // CatalogServiceServiceConfig, the deprecated stutter; "" when the same
	policies            string // _Greeter_svcPolicies, the unexported policy table
	service             string // Greeter, for the names of the table's rows
	// rows are the names of the table's rows by method Go name, once
	// claimed (see generatedIdents); a row not in it has policyRow's name.
	rows map[string]*string
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
	notServed  string          // why std is nil
	lro        *lroAnswer      // the types of the Operation it answers, from operation_info; nil: none
	iam        string          // for a google.iam.v1 policy method: the svciam function serving it
	iamShape   *shapedIAM      // for a policy method of its own types (Compute's): how it is served
}

// buildFile derives the model of one file. resources caches the messages
// examined as resources; what it holds depends on each message alone.
func buildFile(plugin *protogen.Plugin, file *protogen.File, params Params, resources *resourceIndex) (*fileModel, error) {
	fm := &fileModel{file: file, params: params}
	if name := string(file.GoPackageName); !token.IsIdentifier(name) || name == "_" {
		// An explicit name in go_package (or an M option) is taken as it is:
		// "example.com/x;type" would give package clauses that do not parse.
		return nil, fmt.Errorf("%s: the Go package name %q (from option go_package or an M plugin option) is not a valid Go package name; use an identifier that is not a Go keyword", file.Desc.Path(), name)
	}
	if err := checkResourceOptions(file); err != nil {
		return nil, err
	}
	scope := newFileScope(plugin, file)
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
			sm.methods = append(sm.methods, mm)
		}
		if params.Artifacts[ArtifactRepo] {
			sm.recognise(scope, resources)
		}
		sm.nameResources()
		if params.Artifacts[ArtifactServer] {
			for _, m := range svc.Methods {
				if m.GoName == sm.names.Unimplemented {
					return nil, fmt.Errorf("%s: service %s: method %s has the name of %s, which the server skeleton embeds, and Go does not allow a method and a field of the same name; rename the method, or leave server out of the artifacts option",
						file.Desc.Path(), svc.Desc.FullName(), m.Desc.Name(), sm.names.Unimplemented)
				}
			}
		}
		if params.Artifacts[ArtifactRepo] && params.Artifacts[ArtifactServer] {
			for _, m := range svc.Methods {
				if m.GoName == repositoriesMethod {
					return nil, fmt.Errorf("%s: service %s: method %s collides with the skeleton's %s accessor of its repositories; rename the method, or leave repo out of the artifacts option",
						file.Desc.Path(), svc.Desc.FullName(), m.Desc.Name(), repositoriesMethod)
				}
			}
		}
		for _, r := range sm.resources {
			if r.msg.Location.SourceFile == file.Desc.Path() && !fm.declares(r) {
				fm.repositories = append(fm.repositories, r)
			}
		}
		fm.services = append(fm.services, sm)
	}
	sort.Slice(fm.repositories, func(i, j int) bool {
		return fm.repositories[i].msg.GoIdent.GoName < fm.repositories[j].msg.GoIdent.GoName
	})
	fm.implyIndexes()
	return fm, nil
}

// recognise decides how each method is served, in two passes: the methods
// whose messages name their resource, then those that name it only by a key
// (a Delete answering an empty message), among the resources the first pass
// found. Then each child collection finds its parent's resource, when the
// service serves it.
func (sm *serviceModel) recognise(scope *fileScope, resources *resourceIndex) {
	sm.readOperations(scope)
	var served []*resourceModel
	for pass := range 2 {
		for _, mm := range sm.methods {
			if mm.std != nil || mm.iam != "" {
				continue
			}
			if mm.iam = iamMethod(mm.m, mm.kind); mm.iam != "" {
				continue
			}
			if mm.iamShape = shapedIAMOf(sm.svc, mm.m, mm.kind); mm.iamShape != nil {
				mm.iam = mm.iamShape.fn
				continue
			}
			c := &methodContext{m: mm.m, kind: mm.kind, svc: sm.svc, scope: scope, resources: resources}
			if pass == 1 {
				c.served = served
			}
			mm.std, mm.notServed = recogniseMethod(c)
			if mm.std != nil && !slices.Contains(served, mm.std.resource) {
				served = append(served, mm.std.resource)
			}
		}
	}
	for _, mm := range sm.methods {
		// The service's own Operations are kept, whether or not its Get of
		// them is served.
		if mm.std != nil && mm.std.out.ownOp != nil && !slices.Contains(served, mm.std.out.ownOp.op) {
			served = append(served, mm.std.out.ownOp.op)
		}
	}
	for _, mm := range sm.methods {
		if mm.std == nil || mm.std.parent == nil {
			continue
		}
		for _, p := range served {
			if mm.std.resource.isChildOf(p) {
				mm.std.parentResource = p
			}
		}
	}
	sm.resources = served
	sm.linkChildren()
	for _, mm := range sm.methods {
		// A method served with guessed operation types (no operation_info)
		// gets the wrapper's AndWait for them, as one that declares them.
		if mm.lro == nil && mm.std != nil && mm.std.out.lro != nil {
			mm.lro = mm.std.out.lro
		}
	}
}

// nameResources names each resource's field in the repository set by its Go
// name; resources of different packages that share one are qualified by as
// many trailing elements of their proto package as it takes to tell them
// apart (V1Finding, V2Finding). Resources are ordered by field name.
func (sm *serviceModel) nameResources() {
	sm.fields = map[*resourceModel]string{}
	byName := map[string][]*resourceModel{}
	for _, r := range sm.resources {
		byName[r.msg.GoIdent.GoName] = append(byName[r.msg.GoIdent.GoName], r)
	}
	for name, rs := range byName {
		if len(rs) == 1 {
			sm.fields[rs[0]] = name
			continue
		}
		for depth := 1; ; depth++ {
			seen := map[string]bool{}
			unique := true
			for _, r := range rs {
				q := qualifier(r, depth) + name
				unique = unique && !seen[q]
				seen[q] = true
				sm.fields[r] = q
			}
			if unique || depth > 32 {
				break
			}
		}
	}
	sort.Slice(sm.resources, func(i, j int) bool { return sm.fields[sm.resources[i]] < sm.fields[sm.resources[j]] })
}

// qualifier is the last depth elements of r's proto package, each with its
// first letter upper-cased: google.cloud.securitycenter.v2 at depth 1 is V2.
func qualifier(r *resourceModel, depth int) string {
	parts := strings.Split(string(r.msg.Desc.ParentFile().Package()), ".")
	var q string
	for _, p := range parts[max(0, len(parts)-depth):] {
		if p != "" {
			q += strings.ToUpper(p[:1]) + p[1:]
		}
	}
	if q == "" {
		q = "X"
	}
	return q
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
		ServiceConfig:       serviceConfigName(n),
		OldServiceConfig:    oldServiceConfigName(n),
		policies:            "_" + n + "_svcPolicies",
		service:             n,
	}
}

// serviceConfigName names the service config function of a service: the
// service's Go name + "ServiceConfig", without repeating "Service" when the
// name already ends with it (CatalogService gives CatalogServiceConfig, not
// CatalogServiceServiceConfig). Two services of one package named Catalog
// and CatalogService then claim the same name, which claimGenerated
// reports.
func serviceConfigName(goName string) string {
	if strings.HasSuffix(goName, "Service") && goName != "Service" {
		return goName + "Config"
	}
	return goName + "ServiceConfig"
}

// oldServiceConfigName is the name generated before serviceConfigName
// dropped the stutter, kept one release as a deprecated alias; "" when it
// is the same.
func oldServiceConfigName(goName string) string {
	if old := goName + "ServiceConfig"; old != serviceConfigName(goName) {
		return old
	}
	return ""
}

// policyRow is the unexported constant naming m's row of the policy table:
// _Greeter_SayHello_svcPolicy, or the name claimGenerated gave it instead.
func (n serviceNames) policyRow(m *protogen.Method) string {
	if row := n.rows[m.GoName]; row != nil {
		return *row
	}
	return "_" + n.service + "_" + m.GoName + "_svcPolicy"
}

// generatedIdents lists the package-level identifiers protoc-gen-svc declares
// for a service when the given artifacts are emitted, with what each is;
// each points into sm.names, so that claimGenerated can rename it.
func (sm *serviceModel) generatedIdents(params Params) []ident {
	var ids []ident
	n := &sm.names
	if params.Artifacts[ArtifactServer] {
		ids = append(ids, ident{&n.Skeleton, "server skeleton"})
		if params.Artifacts[ArtifactRepo] {
			ids = append(ids,
				ident{&n.Repositories, "repository set of the skeleton"},
				ident{&n.NewSkeleton, "skeleton constructor"},
				ident{&n.NewInMemorySkeleton, "skeleton constructor"},
			)
		}
	}
	if params.Artifacts[ArtifactClient] {
		ids = append(ids,
			ident{&n.Wrapper, "client wrapper"},
			ident{&n.NewWrapper, "client wrapper constructor"},
			ident{&n.WrapClient, "client wrapper constructor"},
			ident{&n.MethodPolicies, "method policy table"},
			ident{&n.ServiceConfig, "service config function"},
			ident{&n.policies, "method policy table"},
		)
		if n.rows == nil {
			n.rows = map[string]*string{}
		}
		for _, mm := range sm.methods {
			row := n.policyRow(mm.m)
			n.rows[mm.m.GoName] = &row
			ids = append(ids, ident{&row, "row of the method policy table"})
		}
		if n.OldServiceConfig != "" {
			ids = append(ids, ident{&n.OldServiceConfig, "deprecated service config function"})
		}
		if params.Artifacts[ArtifactServer] {
			ids = append(ids, ident{&n.StartForTest, "test helper"})
		}
	}
	return ids
}

// ident is a generated package-level identifier and what it is.
type ident struct {
	name *string
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

// implyIndexes fills fm.implied from the file's List methods.
func (fm *fileModel) implyIndexes() {
	for _, sm := range fm.services {
		for _, mm := range sm.methods {
			if mm.std == nil || !fm.declares(mm.std.resource) {
				continue
			}
			r := mm.std.resource
			for _, f := range mm.std.filters {
				ix := pathName(f.path)
				if slices.Contains(r.indexes, ix) || slices.Contains(fm.implied[r], ix) {
					continue
				}
				if fm.implied == nil {
					fm.implied = map[*resourceModel][]string{}
				}
				fm.implied[r] = append(fm.implied[r], ix)
			}
		}
	}
	for _, ixs := range fm.implied {
		sort.Strings(ixs)
	}
}

package gen

import (
	"fmt"
	"go/doc/comment"
	"go/token"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

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
	return fm, nil
}

// recognise decides how each method is served, in two passes: the methods
// whose messages name their resource, then those that name it only by a key
// (a Delete answering an empty message), among the resources the first pass
// found. Then each child collection finds its parent's resource, when the
// service serves it.
func (sm *serviceModel) recognise(scope *fileScope, resources *resourceIndex) {
	var served []*resourceModel
	for pass := range 2 {
		for _, mm := range sm.methods {
			if mm.std != nil {
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
		if mm.std == nil || mm.std.parent == nil {
			continue
		}
		for _, p := range served {
			if p.pattern == mm.std.resource.parentPattern {
				mm.std.parentResource = p
			}
		}
	}
	sm.resources = served
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
// _Greeter_SayHello_svcPolicy.
func (n serviceNames) policyRow(m *protogen.Method) string {
	return "_" + n.service + "_" + m.GoName + "_svcPolicy"
}

// generatedIdents lists the package-level identifiers protoc-gen-svc declares
// for a service when the given artifacts are emitted, with what each is.
func (sm *serviceModel) generatedIdents(params Params) []ident {
	var ids []ident
	n := sm.names
	if params.Artifacts[ArtifactServer] {
		ids = append(ids, ident{n.Skeleton, "server skeleton"})
		if params.Artifacts[ArtifactRepo] {
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
		for _, mm := range sm.methods {
			ids = append(ids, ident{n.policyRow(mm.m), "row of the method policy table"})
		}
		if n.OldServiceConfig != "" {
			ids = append(ids, ident{n.OldServiceConfig, "deprecated service config function"})
		}
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
	for _, line := range docLines(first, comments, deprecated) {
		g.P(line)
	}
}

// docText is docComment's lines as text for a template, without the final
// newline.
func docText(first string, comments protogen.Comments, deprecated bool) string {
	return strings.Join(docLines(first, comments, deprecated), "\n")
}

// docLines are the lines of the doc comment docComment writes.
func docLines(first string, comments protogen.Comments, deprecated bool) []string {
	lines := wrapDoc(first)
	if c := strings.TrimSpace(string(comments)); c != "" {
		lines = append(lines, "//")
		lines = append(lines, strings.Split(strings.TrimSuffix(goComment(comments), "\n"), "\n")...)
		if mayReformat(comments) {
			lines = stableDocComment(lines, deprecated)
			deprecated = false // in lines now
		}
	}
	if deprecated {
		lines = append(lines, "//", "// Deprecated: Do not use.")
	}
	return lines
}

// docWidth is the width generated prose is wrapped at, "// " included, as
// connect-go wraps its generated comments.
const docWidth = 80

// wrapDoc turns generated prose into comment lines wrapped at docWidth.
// Blank lines separate paragraphs; a line starting with "  - " is a list
// item, wrapped with its continuation lines indented under its text. Other
// line breaks in the text do not matter.
func wrapDoc(text string) []string {
	var lines, words []string
	flush := func(first, rest string) {
		line := first
		for _, w := range words {
			switch {
			case line == first || line == rest:
				line += w
			case len(line)+1+len(w) > docWidth:
				lines = append(lines, line)
				line = rest + w
			default:
				line += " " + w
			}
		}
		if len(words) > 0 {
			lines = append(lines, line)
		}
		words = nil
	}
	for _, raw := range strings.Split(text, "\n") {
		switch {
		case strings.TrimSpace(raw) == "":
			flush("// ", "// ")
			lines = append(lines, "//")
		case strings.HasPrefix(raw, "  - "):
			flush("// ", "// ")
			words = strings.Fields(raw[4:])
			flush("//   - ", "//     ")
		default:
			words = append(words, strings.Fields(raw)...)
		}
	}
	flush("// ", "// ")
	return lines
}

// mayReformat reports whether a proto comment has lines that go/doc/comment
// may read as code blocks, lists, headings or link definitions: indented
// lines and lines that start with a marker.
func mayReformat(comments protogen.Comments) bool {
	for _, line := range strings.Split(string(comments), "\n") {
		line = strings.TrimPrefix(line, " ")
		if line != "" && (strings.ContainsRune(" \t-*+#[0123456789", rune(line[0])) || strings.HasPrefix(line, "•")) {
			return true
		}
	}
	return false
}

// stableDocComment returns doc comment lines ("//" lines, the Deprecated
// paragraph added when deprecated) as gofmt leaves them. go/printer, through
// which protogen writes every file, reformats a doc comment once with
// go/doc/comment; for some mixes of indented lines and list items that is
// not yet what a second gofmt gives, and generated files must be
// gofmt-clean. So the text is formatted until it no longer changes, and
// written the way go/printer writes it. Comments with directives (//go:...),
// which go/printer moves, are left as they are.
func stableDocComment(lines []string, deprecated bool) []string {
	if deprecated {
		lines = append(lines, "//", "// Deprecated: Do not use.")
	}
	var b strings.Builder
	for _, line := range lines {
		after := strings.TrimPrefix(line, "//")
		if isDirective(after) {
			return lines
		}
		b.WriteString(strings.TrimPrefix(after, " "))
		b.WriteByte('\n')
	}
	text := b.String()
	for range 10 {
		var p comment.Parser
		var pr comment.Printer
		next := string(pr.Comment(p.Parse(text)))
		if next == text {
			break
		}
		text = next
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case line == "":
			out = append(out, "//")
		case strings.HasPrefix(line, "\t"):
			out = append(out, "//"+line)
		default:
			out = append(out, "// "+line)
		}
	}
	return out
}

// isDirective is go/printer's: whether a comment's text after "//" is a
// directive such as go:generate, line, extern or export.
func isDirective(c string) bool {
	if strings.HasPrefix(c, "line ") || strings.HasPrefix(c, "extern ") || strings.HasPrefix(c, "export ") {
		return true
	}
	colon := strings.Index(c, ":")
	if colon <= 0 || colon+1 >= len(c) {
		return false
	}
	for i := 0; i <= colon+1; i++ {
		if i == colon {
			continue
		}
		if b := c[i]; !('a' <= b && b <= 'z' || '0' <= b && b <= '9') {
			return false
		}
	}
	return true
}

// goComment is comments.String() ("//" before every line) for text that Go
// accepts in a comment and that gofmt leaves as it is: carriage returns (of a
// .proto file with CRLF line ends) are dropped, as the Go scanner drops them,
// which go/printer would otherwise count in the comment's length and so not
// format it as a doc comment until the second time; NUL bytes, byte order
// marks and invalid UTF-8, which make Go source unparsable, become U+FFFD.
func goComment(comments protogen.Comments) string {
	text := string(comments)
	if strings.ContainsAny(text, "\r\x00\uFEFF") || !utf8.ValidString(text) {
		text = strings.ReplaceAll(text, "\r\n", "\n")
		text = strings.ReplaceAll(text, "\r", "")
		text = strings.ToValidUTF8(text, "\uFFFD")
		text = strings.NewReplacer("\x00", "\uFFFD", "\uFEFF", "\uFFFD").Replace(text)
	}
	return protogen.Comments(text).String()
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

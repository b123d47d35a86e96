package gen

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// A standard method is one the skeleton serves from a repository. Each
// shape (Get, List, Create, BatchCreate, Update, Delete, the unary batches)
// lives in its own std_*.go file, with its recognition and its emission side by side: adding
// a shape touches one file and the verbs table below.

// shape recognises one standard method verb and writes its body.
type shape interface {
	// recognise returns how c's method is served, or nil and why not.
	recognise(c *methodContext) (*standardMethod, string)
	// emit writes the body of the method, after the repository check.
	emit(w *methodWriter)
}

// verbs maps a method name's verb to its shape. Verbs are matched longest
// first, so BatchCreate is not read as Batch + Create.
var verbs = []struct {
	verb  string
	shape shape
}{
	{"BatchCreate", batchCreateShape{}},
	{"BatchGet", batchShape{getShape{}}},
	{"BatchUpdate", batchShape{updateShape{}}},
	{"BatchDelete", batchShape{deleteShape{}}},
	{"BulkCreate", batchCreateShape{}},
	{"Import", batchCreateShape{}},
	{"Get", getShape{}},
	{"List", listShape{}},
	{"Create", createShape{}},
	{"Update", updateShape{}},
	{"Delete", deleteShape{}},
	{"Undelete", undeleteShape{}},
}

// standardMethod is how a method is served from its resource's repository:
// which request fields carry what, and where the answer goes. Fields a shape
// does not use are nil.
type standardMethod struct {
	shape    shape
	resource *resourceModel
	// summary says, for the doc comment and the explain report, what the
	// method does ("reads a User by id").
	summary string
	// notes are the mappings a reader should know about; warnings are the
	// guesses among them, also printed at generation time.
	notes    []string
	warnings []string

	// Request side.
	key    *protogen.Field // the resource's key (Get, Delete, Update by key)
	etag   *protogen.Field // Delete's etag
	parent *protogen.Field // List/Create of a child collection
	// collection is, for a resource without patterns (guessesCollection),
	// the collection under parent a List reads or a Create adds to.
	collection   string
	pageSize     *protogen.Field
	pageToken    *protogen.Field
	input        *inputMapping     // Create/BatchCreate: how a request becomes a resource
	body         *protogen.Field   // Update: the resource field
	whole        bool              // Update: the request is the resource itself
	mask         *protogen.Field   // Update: update_mask
	nested       *protogen.Field   // Update: a message of fields to set (ProductUpdate)
	sets         []fieldMapping    // Update by key: the fields that set resource fields
	filters      []filterMapping   // List: equality filters
	filter       *protogen.Field   // List: an AIP-160 filter string
	orderBy      *protogen.Field   // List: an AIP-132 order_by string
	readMask     *protogen.Field   // Get, List: an AIP-157 read_mask
	view         *protogen.Field   // Get, List: an AIP-157 view enum with a FULL value
	validateOnly *protogen.Field   // Create, Update, Delete: an AIP-163 validate_only
	allowMissing *protogen.Field   // Update (creates), Delete (succeeds): AIP-134/135 allow_missing
	showDeleted  *protogen.Field   // List of a soft-deleted resource: AIP-164 show_deleted
	force        *protogen.Field   // Delete: AIP-135 force, deleting the children this service keeps
	children     []childCollection // Delete with force: the service's child collections of the resource
	unsupported  []*protogen.Field // fields refused when set (codes.Unimplemented)
	requestID    *protogen.Field   // a unary method's AIP-155 request_id, honoured with svcaip.Replay
	batch        *batchPlan        // a unary batch method (AIP-231..235): how its elements are served
	refusals     []refusal         // where each refuse call's note is, to rewrite it

	// parentResource is the resource of the parent collection, when the
	// same service serves it: a missing parent is then NotFound.
	parentResource *resourceModel

	// Response side.
	out   resultMapping
	items *protogen.Field // List/BatchCreate: the repeated resource field
	// itemWrap is, for a List whose items wrap a resource (Security Command
	// Center's ListFindingsResult.finding), the field of each item holding it.
	itemWrap  *protogen.Field
	nextToken *protogen.Field // List: next_page_token
	count     *protogen.Field // BatchCreate: the number created
}

// resultMapping says how a resource becomes the method's response.
type resultMapping struct {
	msg   *protogen.Message // the response message (or streamed message)
	wrap  *protogen.Field   // the response field holding the resource; nil: the response is the resource
	empty bool              // the response has no fields (Delete)
	lro   *lroAnswer        // the method answers a google.longrunning.Operation holding msg
	ownOp *ownOperation     // the method answers the service's own Operation about msg
}

// fieldMapping pairs a request field with the resource field (path) it
// sets. flag, when set, is the bool request field that says whether to set
// it (update_inventory for inventory).
type fieldMapping struct {
	req  *protogen.Field
	path []*protogen.Field // the resource field, or a message field and its key
	flag *protogen.Field
}

// filterMapping is a List request field that filters by equality, when set,
// on the resource field at path.
type filterMapping struct {
	req  *protogen.Field
	path []*protogen.Field
}

// methodContext is what recognising one method needs.
type methodContext struct {
	m         *protogen.Method
	kind      rpcKind
	verb      string
	noun      string // what follows the verb: "User", "Users", or ""
	svc       *protogen.Service
	scope     *fileScope
	resources *resourceIndex
	// answer is the message the method answers, or, for a long-running
	// operation, its response type; lro says how the Operation is made.
	answer *protogen.Message
	lro    *lroAnswer
	// ownOp says how the method records the service's own Operation,
	// which it answers (GKE's), answer being the noun's resource.
	ownOp *ownOperation
	// served holds the resources the service's other methods serve, for the
	// methods that name their resource only by their key (Delete returning
	// Empty); nil in the first pass.
	served []*resourceModel
}

// fileScope is the messages a file can name: its own and those of the files
// it imports, by message name, for methods whose resource is named only by
// the method or service name.
type fileScope struct {
	byName map[protoreflect.Name][]*protogen.Message
	// byFullName holds the messages of the file and of every file it
	// imports, directly or not, for the types operation_info names.
	byFullName map[protoreflect.FullName]*protogen.Message
	// byType holds the same messages by their google.api.resource type,
	// for the types a google.api.resource_reference names; built when
	// first needed.
	byType map[string][]*protogen.Message
	// definitions holds the patterns of the file-level
	// google.api.resource_definition of the file and of every file it
	// imports, directly or not, by type (AIP-123: resources of other
	// APIs, such as cloudresourcemanager.googleapis.com/Project).
	definitions map[string][]string
}

// patternsOf returns the patterns of resource type t: those of the
// messages in scope of that type, and of the resource definitions; or, for
// a type that none declares, those googleapis'
// google/cloud/common_resources.proto declares for every API, which many
// reference without importing it.
func (s *fileScope) patternsOf(t string) []string {
	out := slices.Clone(s.definitions[t])
	for _, m := range s.typed(t) {
		api, _ := extension[*annotations.ResourceDescriptor](m.Desc.Options(), annotations.E_Resource)
		out = append(out, api.GetPattern()...)
	}
	if len(out) == 0 {
		out = commonResources[t]
	}
	return out
}

// commonResources are the resource definitions of googleapis'
// google/cloud/common_resources.proto.
var commonResources = map[string][]string{
	"cloudresourcemanager.googleapis.com/Project":      {"projects/{project}"},
	"cloudresourcemanager.googleapis.com/Organization": {"organizations/{organization}"},
	"cloudresourcemanager.googleapis.com/Folder":       {"folders/{folder}"},
	"cloudbilling.googleapis.com/BillingAccount":       {"billingAccounts/{billing_account}"},
	"locations.googleapis.com/Location":                {"projects/{project}/locations/{location}"},
}

// typed returns the messages in scope whose google.api.resource type is t.
func (s *fileScope) typed(t string) []*protogen.Message {
	if s.byType == nil {
		s.byType = map[string][]*protogen.Message{}
		for _, m := range s.byFullName {
			if api, _ := extension[*annotations.ResourceDescriptor](m.Desc.Options(), annotations.E_Resource); api.GetType() != "" {
				s.byType[api.GetType()] = append(s.byType[api.GetType()], m)
			}
		}
	}
	return s.byType[t]
}

// referenced returns the resource the request in names by a
// google.api.resource_reference (AIP-122/123): the type of its name field,
// or the child_type of its parent field; nil when neither names the type
// of exactly one resource in scope whose key is its resource name.
func (c *methodContext) referenced(in *protogen.Message) *resourceModel {
	var found *resourceModel
	for _, f := range in.Fields {
		if !isPlain(f, protoreflect.StringKind) {
			continue
		}
		ref, _ := extension[*annotations.ResourceReference](f.Desc.Options(), annotations.E_ResourceReference)
		t := ""
		switch f.Desc.Name() {
		case "name":
			t = ref.GetType()
		case "parent":
			t = ref.GetChildType()
		}
		if t == "" {
			continue
		}
		var r *resourceModel
		for _, m := range c.scope.typed(t) {
			if mr := c.resources.resource(m); mr != nil && mr.apiType == t {
				if r != nil && r != mr {
					return nil // two resources of one type: which?
				}
				r = mr
			}
		}
		if r == nil || found != nil && found != r {
			return nil
		}
		found = r
	}
	return found
}

// namesUnambiguously says how the request names r beyond doubt
// (AIP-122/123), or is "": a google.api.resource_reference names r's type (that of
// its name field, or the child_type of its parent field), or the type of
// its parent field is a resource (a message's, or a file-level
// google.api.resource_definition) with a pattern that is the parent of one
// of r's; or the request holds r itself, and r is named by
// google.api.resource patterns (so its keys are full resource names, never
// relative to another resource's).
func (c *methodContext) namesUnambiguously(r *resourceModel) string {
	if r.apiType == "" {
		return ""
	}
	in := c.m.Input
	for _, f := range in.Fields {
		if isSingularMessage(f) && f.Message.Desc.FullName() == r.msg.Desc.FullName() {
			return fmt.Sprintf("%s.%s holds the %s, named by its google.api.resource patterns", in.Desc.Name(), f.Desc.Name(), r.msg.Desc.Name())
		}
		if !isPlain(f, protoreflect.StringKind) {
			continue
		}
		ref, _ := extension[*annotations.ResourceReference](f.Desc.Options(), annotations.E_ResourceReference)
		switch f.Desc.Name() {
		case "name":
			if ref.GetType() == r.apiType {
				return fmt.Sprintf("the google.api.resource_reference of %s.%s is of type %s", in.Desc.Name(), f.Desc.Name(), r.apiType)
			}
		case "parent":
			if ref.GetChildType() == r.apiType {
				return fmt.Sprintf("the google.api.resource_reference of %s.%s is of child_type %s", in.Desc.Name(), f.Desc.Name(), r.apiType)
			}
			if ref.GetType() != "" && c.parentOf(ref.GetType(), r) {
				return fmt.Sprintf("the google.api.resource_reference of %s.%s is of type %s, a parent of %s", in.Desc.Name(), f.Desc.Name(), ref.GetType(), r.msg.Desc.Name())
			}
		}
	}
	return ""
}

// checkedApart says why r's keys cannot be own's, or is "": every name a
// request carries for r is checked against r's google.api.resource
// patterns, and no name could match both one of those and one of own's.
func checkedApart(r, own *resourceModel) string {
	if len(r.patterns) == 0 {
		return ""
	}
	for _, p := range r.patterns {
		for _, q := range own.patterns {
			if overlap(p, q) {
				return ""
			}
		}
	}
	why := fmt.Sprintf("every name of %s it carries is checked against %s's google.api.resource patterns (%s)", r.msg.Desc.Name(), r.msg.Desc.Name(), strings.Join(r.patterns, ", "))
	if len(own.patterns) > 0 {
		why += fmt.Sprintf(", which no %s name matches", own.msg.Desc.Name())
	}
	return why
}

// keptApart says why r may be kept in a repository of its own beside the
// service's resource own, or is "": neither checks its names against
// google.api.resource patterns (it has none, or one is "*"), so a name of r
// cannot be told from one of own's, but a request
// named after r (GetVersionRequest) answering r itself speaks of r and not
// of own (ML Engine's ModelService serving Versions, Monitoring's
// NotificationChannelService serving NotificationChannelDescriptors). Where
// own's names are checked and r's are not, r's names may be own's and the
// method is refused; so is a resource keyed by a bare id, which may be
// own's (containerd's Leases.ListResources(id) lists the Resources of the
// lease whose id it is).
func keptApart(r, own *resourceModel) string {
	if len(r.patterns) > 0 || len(own.patterns) > 0 || r.key.Desc.Name() != "name" {
		return ""
	}
	return fmt.Sprintf("neither checks its names against google.api.resource patterns, %s is keyed by a resource name, and the method's request and answer are %s's, so it is kept in a repository of its own", r.msg.Desc.Name(), r.msg.Desc.Name())
}

// parentOf reports whether a pattern of resource type t is the parent of
// one of r's patterns ("projects/{project}" of
// "projects/{project}/secrets/{secret}"), variables compared by position.
func (c *methodContext) parentOf(t string, r *resourceModel) bool {
	for _, tp := range c.scope.patternsOf(t) {
		for _, p := range r.patterns {
			if parts := strings.Split(p, "/"); len(parts) >= 4 && len(parts)%2 == 0 {
				if parent, _ := childParts(p); starred(parent) == starred(tp) {
					return true
				}
			}
		}
	}
	return false
}

// starred is a pattern with its variables replaced by "*".
func starred(pattern string) string {
	parts := strings.Split(pattern, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "{") {
			parts[i] = "*"
		}
	}
	return strings.Join(parts, "/")
}

func newFileScope(plugin *protogen.Plugin, file *protogen.File) *fileScope {
	s := &fileScope{byName: map[protoreflect.Name][]*protogen.Message{}, byFullName: map[protoreflect.FullName]*protogen.Message{}, definitions: map[string][]string{}}
	add := func(f *protogen.File) {
		for _, m := range f.Messages {
			s.byName[m.Desc.Name()] = append(s.byName[m.Desc.Name()], m)
		}
	}
	add(file)
	imports := file.Desc.Imports()
	for i := range imports.Len() {
		if f := plugin.FilesByPath[imports.Get(i).Path()]; f != nil {
			add(f)
		}
	}
	s.addAll(plugin, file, map[string]bool{})
	return s
}

// addAll records the messages of f and of everything it imports by full
// name.
func (s *fileScope) addAll(plugin *protogen.Plugin, f *protogen.File, seen map[string]bool) {
	if seen[f.Desc.Path()] {
		return
	}
	seen[f.Desc.Path()] = true
	var add func(ms []*protogen.Message)
	add = func(ms []*protogen.Message) {
		for _, m := range ms {
			s.byFullName[m.Desc.FullName()] = m
			add(m.Messages)
		}
	}
	add(f.Messages)
	for _, d := range resourceDefinitions(f.Desc.Options()) {
		s.definitions[d.GetType()] = append(s.definitions[d.GetType()], d.GetPattern()...)
	}
	imports := f.Desc.Imports()
	for i := range imports.Len() {
		if imp := plugin.FilesByPath[imports.Get(i).Path()]; imp != nil {
			s.addAll(plugin, imp, seen)
		}
	}
}

// resourceDefinitions reads the google.api.resource_definition of a file's
// options; options holding it as unknown fields or as an extension of
// another descriptor (as extension, for one message, handles) are re-read
// through the global registry.
func resourceDefinitions(opts proto.Message) []*annotations.ResourceDescriptor {
	if opts == nil || !opts.ProtoReflect().IsValid() {
		return nil
	}
	m := opts.ProtoReflect()
	if xd := annotations.E_ResourceDefinition.TypeDescriptor(); m.Has(xd) {
		// The values may be dynamic messages of an equivalent descriptor.
		var defs []*annotations.ResourceDescriptor
		l := m.Get(xd).List()
		for i := range l.Len() {
			if d, ok := l.Get(i).Message().Interface().(*annotations.ResourceDescriptor); ok {
				defs = append(defs, d)
			}
		}
		if len(defs) == l.Len() {
			return defs
		}
	} else {
		foreign := len(m.GetUnknown()) > 0
		m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
			foreign = foreign || fd.IsExtension()
			return !foreign
		})
		if !foreign {
			return nil
		}
	}
	b, err := proto.Marshal(opts)
	if err != nil {
		return nil
	}
	fresh := opts.ProtoReflect().Type().New().Interface()
	if err := (proto.UnmarshalOptions{Resolver: protoregistry.GlobalTypes}).Unmarshal(b, fresh); err != nil {
		return nil
	}
	defs, _ := proto.GetExtension(fresh, annotations.E_ResourceDefinition).([]*annotations.ResourceDescriptor)
	return defs
}

// resourceNamed returns the one resource in scope whose name is noun or
// whose plural noun is; "" and ambiguity give nil.
func (c *methodContext) resourceNamed(noun string) *resourceModel {
	if noun == "" {
		return nil
	}
	var found *resourceModel
	for name, msgs := range c.scope.byName {
		n := string(name)
		if noun != n && !pluralOf(noun, n) {
			continue
		}
		for _, m := range msgs {
			if r := c.resources.resource(m); r != nil {
				if found != nil && found != r {
					return nil
				}
				found = r
			}
		}
	}
	if found == nil {
		if r := c.resourceBeginningService(); r != nil && c.shortNoun(r) {
			found = r
		}
	}
	return found
}

// resourceBeginningService returns the resource whose message name begins
// the service's (RuntimeConfig of RuntimeConfigManager), the longest when
// several do and one is, or nil.
func (c *methodContext) resourceBeginningService() *resourceModel {
	svc := string(c.svc.Desc.Name())
	var found *resourceModel
	longest := 0
	for name, msgs := range c.scope.byName {
		if n := string(name); len(n) > longest && strings.HasPrefix(svc, n) {
			for _, m := range msgs {
				if r := c.resources.resource(m); r != nil {
					found, longest = r, len(n)
					break
				}
			}
		}
	}
	return found
}

// serviceResource returns the resource the service is named after:
// Containers serves Container, UserService serves User.
func (c *methodContext) serviceResource() *resourceModel {
	name := strings.TrimSuffix(string(c.svc.Desc.Name()), "Service")
	if r := c.resourceNamed(name); r != nil {
		return r
	}
	return nil
}

// servedWithKeyIn returns the one resource the service's other methods
// serve whose key the request carries: containerd's sandbox
// Store.Delete(StoreDeleteRequest{sandbox_id}) returns an empty message and
// has no noun.
func (c *methodContext) servedWithKeyIn(in *protogen.Message) *resourceModel {
	var found *resourceModel
	for _, r := range c.served {
		if requestKey(in, r) != nil {
			if found != nil && found != r {
				return nil
			}
			found = r
		}
	}
	return found
}

// nounAgrees reports whether the method's noun may name r: it is empty
// (containerd's Get), names r (GetUser, ListUsers), or is containerd's
// ListStream. Any other noun makes a custom method (UpdateOrderStatus), not
// a standard one.
func (c *methodContext) nounAgrees(r *resourceModel) bool {
	return c.noun == "" || r.named(c.noun) || c.verb == "List" && c.noun == "Stream" || c.qualifiedNoun(r) != "" || c.shortNoun(r)
}

// shortNoun reports whether the method's noun is r's name without its
// leading words, and the service is named after r: RuntimeConfigManager's
// GetConfig, CreateConfig and ListConfigs are about RuntimeConfig.
func (c *methodContext) shortNoun(r *resourceModel) bool {
	name := string(r.msg.Desc.Name())
	if c.noun == "" || !strings.HasPrefix(string(c.svc.Desc.Name()), name) {
		return false
	}
	for i := 1; i < len(name); i++ {
		if name[i] >= 'A' && name[i] <= 'Z' && (c.noun == name[i:] || pluralOf(c.noun, name[i:])) {
			return true
		}
	}
	return false
}

// qualifiedNoun returns the trailing words of the method's noun that name r
// after a qualifier (CreateMicrosoftAdDomain creates a Domain,
// GetSystemPolicy reads a Policy, ListLakeActions lists Actions under a
// lake), when the service has no method of the same verb whose noun names r
// plainly (Cloud Profiler's CreateOfflineProfile beside CreateProfile, Org
// Policy's GetEffectivePolicy beside GetPolicy stay custom methods); or "".
// google.longrunning's Operation is never named so: Spanner's
// ListBackupOperations lists operations of a kind, not all of them.
func (c *methodContext) qualifiedNoun(r *resourceModel) string {
	if c.noun == "" || r.msg.Desc.FullName() == operationName {
		return ""
	}
	for _, m := range c.svc.Methods {
		if verb, noun, _ := splitVerb(string(m.Desc.Name())); verb == c.verb && noun != c.noun && r.named(noun) {
			return ""
		}
	}
	for i := 1; i < len(c.noun); i++ {
		if c.noun[i] >= 'A' && c.noun[i] <= 'Z' && r.named(c.noun[i:]) {
			return c.noun[i:]
		}
	}
	return ""
}

// resultOf reads msg as a resource response: the resource itself, or a
// message with exactly one singular field holding a resource (other fields,
// such as a status message, are left unset and noted).
func (c *methodContext) resultOf(msg *protogen.Message) (*resourceModel, resultMapping, []string) {
	if r := c.resources.resource(msg); r != nil && c.nounAgrees(r) {
		return r, resultMapping{msg: msg}, nil
	}
	var wrap *protogen.Field
	var r *resourceModel
	for _, f := range msg.Fields {
		if !isSingularMessage(f) {
			continue
		}
		if fr := c.resources.resource(f.Message); fr != nil && c.nounAgrees(fr) {
			if wrap != nil {
				return nil, resultMapping{}, nil // two resources: which one?
			}
			wrap, r = f, fr
		}
	}
	if wrap == nil {
		return nil, resultMapping{}, nil
	}
	var notes []string
	for _, f := range msg.Fields {
		if f != wrap {
			notes = append(notes, fmt.Sprintf("%s.%s is left unset", msg.Desc.Name(), f.Desc.Name()))
		}
	}
	return r, resultMapping{msg: msg, wrap: wrap}, notes
}

// noResult says why msg is not a resource answer.
func (c *methodContext) noResult(msg *protogen.Message) string {
	if r := c.resources.resource(msg); r != nil && !c.nounAgrees(r) {
		return fmt.Sprintf("it answers %s, but its noun %s does not name it: a custom method, not a standard one", r.msg.Desc.Name(), c.noun)
	}
	return fmt.Sprintf("%s is not a resource, nor a message with one resource field", msg.Desc.Name())
}

// requestKey returns the request field holding r's key: the field of the
// same name, or <resource>_id for a resource keyed by id; else, for a
// resource keyed by its resource name, the one string field whose
// google.api.resource_reference is of r's type (logging's
// GetSinkRequest.sink_name); for a name without patterns, the string field
// named after the resource (Pub/Sub v1beta2's GetTopicRequest.topic).
func requestKey(req *protogen.Message, r *resourceModel) *protogen.Field {
	names := []string{string(r.key.Desc.Name())}
	if r.key.Desc.Name() == "id" {
		names = append(names, snake(string(r.msg.Desc.Name()))+"_id")
	}
	for _, n := range names {
		if f := field(req, n); f != nil && sameKeyType(f, r.key) {
			return f
		}
	}
	if r.apiType == "" {
		// Before AIP-122 named it name, a request carried a resource's name
		// in a field named after it: Pub/Sub v1beta2's GetTopicRequest.topic.
		// Not when another field of the request is one of the resource's
		// too: Storage's GetObjectRequest{bucket, object} names an Object
		// by both, and its name alone is not unique.
		if r.key.Desc.Name() != "name" || r.key.Desc.Kind() != protoreflect.StringKind {
			return nil
		}
		f := field(req, snake(string(r.msg.Desc.Name())))
		if f == nil || !isPlain(f, protoreflect.StringKind) {
			return nil
		}
		for _, g := range req.Fields {
			if g != f && field(r.msg, string(g.Desc.Name())) != nil {
				return nil
			}
		}
		return f
	}
	var found *protogen.Field
	for _, f := range req.Fields {
		if !isPlain(f, protoreflect.StringKind) || f.Desc.Name() == "parent" {
			continue
		}
		if ref, _ := extension[*annotations.ResourceReference](f.Desc.Options(), annotations.E_ResourceReference); ref.GetType() == r.apiType {
			if found != nil {
				return nil // two names of r: which one is the key?
			}
			found = f
		}
	}
	return found
}

// rest returns the fields of msg not in used.
func rest(msg *protogen.Message, used ...*protogen.Field) []*protogen.Field {
	var out []*protogen.Field
next:
	for _, f := range msg.Fields {
		for _, u := range used {
			if u == f {
				continue next
			}
		}
		out = append(out, f)
	}
	return out
}

// refuse records request fields the store cannot honour: the method refuses
// a request that sets one with codes.Unimplemented, and the doc says so.
func (s *standardMethod) refuse(msg *protogen.Message, fields []*protogen.Field) {
	if len(fields) == 0 {
		return
	}
	s.unsupported = append(s.unsupported, fields...)
	s.refusals = append(s.refusals, refusal{msg: msg, fields: fields, note: len(s.notes)})
	s.notes = append(s.notes, refusalNote(msg, fields))
}

// refusal is one refuse call: its message, fields, and the index of its
// note in notes.
type refusal struct {
	msg    *protogen.Message
	fields []*protogen.Field
	note   int
}

func refusalNote(msg *protogen.Message, fields []*protogen.Field) string {
	var names []string
	for _, f := range fields {
		names = append(names, string(f.Desc.Name()))
	}
	return fmt.Sprintf("a request that sets %s.%s answers codes.Unimplemented: the repository cannot honour it", msg.Desc.Name(), strings.Join(names, ", "))
}

// pathName is a field path in proto names: "category.id".
func pathName(path []*protogen.Field) string {
	var parts []string
	for _, f := range path {
		parts = append(parts, string(f.Desc.Name()))
	}
	return strings.Join(parts, ".")
}

// splitVerb splits a method name like GetBook into its verb and noun; the
// noun may be empty (containerd's Get).
func splitVerb(name string) (verb, noun string, sh shape) {
	for _, v := range verbs {
		if rest, ok := strings.CutPrefix(name, v.verb); ok && (rest == "" || rest[0] >= 'A' && rest[0] <= 'Z') {
			return v.verb, rest, v.shape
		}
	}
	return "", "", nil
}

// recogniseMethod returns how m is served from a repository, or nil and the
// reason it is not.
func recogniseMethod(c *methodContext) (*standardMethod, string) {
	verb, noun, sh := splitVerb(string(c.m.Desc.Name()))
	if sh == nil {
		return nil, "its name does not start with a standard verb (Get, List, Create, Update, Delete, BatchGet, BatchCreate, BatchUpdate, BatchDelete, BulkCreate, Import)"
	}
	c.verb, c.noun = verb, noun
	answer, lro, reason := c.operationAnswer(verb)
	if answer == nil {
		return nil, reason
	}
	c.answer, c.lro = answer, lro
	std, reason := sh.recognise(c)
	if std == nil {
		return nil, reason
	}
	if lro != nil {
		std.out.lro = lro
		std.notes = append(std.notes, lro.note())
	}
	if c.ownOp != nil {
		std.out.ownOp = c.ownOp
		std.notes = append(std.notes, c.ownOp.note())
	}
	if own := c.serviceResource(); own != nil && own != std.resource {
		why := c.namesUnambiguously(std.resource)
		if why == "" {
			why = checkedApart(std.resource, own)
		}
		if why == "" {
			why = keptApart(std.resource, own)
		}
		if why == "" {
			return nil, fmt.Sprintf("service %s is named after %s, and this method is about %s: a method of a sub-resource, whose keys may be the %s's", c.svc.Desc.Name(), own.msg.Desc.Name(), std.resource.msg.Desc.Name(), own.msg.Desc.Name())
		}
		std.notes = append(std.notes, fmt.Sprintf("a method of %s although service %s is named after %s: %s", std.resource.msg.Desc.Name(), c.svc.Desc.Name(), own.msg.Desc.Name(), why))
	}
	if std.shape == nil {
		std.shape = sh
	}
	if c.noun != "" && !std.resource.named(c.noun) {
		if c.shortNoun(std.resource) {
			std.notes = append(std.notes, fmt.Sprintf("its noun %s is %s without its leading words, and service %s is named after %s", c.noun, std.resource.msg.Desc.Name(), c.svc.Desc.Name(), std.resource.msg.Desc.Name()))
		} else if q := c.qualifiedNoun(std.resource); q != "" {
			std.notes = append(std.notes, fmt.Sprintf("its noun %s names %s after a qualifier (%s), and %s has no %s%s of its own, so it is %s's standard %s", c.noun, q, strings.TrimSuffix(c.noun, q), c.svc.Desc.Name(), c.verb, q, std.resource.msg.Desc.Name(), c.verb))
		}
	}
	std.honourRequestID(c)
	std.notes = append(std.notes, aipNotes(std, c.m.Input)...)
	return std, ""
}

// String names an RPC kind in explanations ("a server stream").
func (k rpcKind) String() string {
	return [...]string{"a unary method", "a server stream", "a client stream", "a bidirectional stream"}[k]
}

// article is "a" or "an" before an English noun, by its first letter.
func article(noun string) string {
	if noun != "" && strings.ContainsRune("AEIOUaeiou", rune(noun[0])) {
		return "an"
	}
	return "a"
}

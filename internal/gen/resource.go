package gen

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/gofeaturespb"

	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
)

// resourceModel is a message served as a resource from a repository. It
// depends on the message alone, never on the services that use it, so that
// a file's output depends only on the file and its imports.
type resourceModel struct {
	msg        *protogen.Message
	key        *protogen.Field // string or integer key field
	keyWhy     string          // why this field is the key, for explanations
	warnings   []string        // guesses made choosing the key, for explanations
	etag       *protogen.Field // optional
	createTime *protogen.Field // optional google.protobuf.Timestamp
	updateTime *protogen.Field // optional google.protobuf.Timestamp
	// deletion is how a soft-deleted resource (AIP-164) is marked, or
	// nil: Delete marks it instead of removing it.
	deletion *softDeletion

	// indexes are the declared secondary indexes ((svc.v1.resource).index),
	// each comma-joined dotted paths, checked against the message.
	indexes []string

	// keyPrefix is the fixed collection of a one-collection pattern
	// ("books/"), prepended to server-assigned ids.
	keyPrefix string
	// pattern is the google.api.resource pattern with its variables
	// replaced by "*" ("shelves/*/books/*"); collection is its last
	// collection ("books") and parentPattern what comes before it
	// ("shelves/*"), both only for nested patterns.
	pattern       string
	collection    string
	parentPattern string
	// singleton is the last segment of a singleton's pattern (AIP-156:
	// "users/{user}/config" gives "config", and parentPattern "users/*"):
	// one resource under each parent, and no collection.
	singleton string
	// patterns are the google.api.resource patterns as written
	// ("shelves/{shelf}/books/{book}"), when the key is the resource
	// name: every name a request carries must match one.
	patterns []string
	// children are, for a resource with several patterns, those of them
	// with a parent ("projects/{project}/secrets/{secret}",
	// "projects/{project}/locations/{location}/secrets/{secret}"): a
	// parent of any of them is accepted (svcaip.ChildKeyPrefix), and
	// names the new resource's collection.
	children []string
	// apiType is the google.api.resource type ("secrets.example.com/Secret"),
	// when the key is the resource name and its patterns are readable.
	apiType string
	// singulars and plurals are the other nouns method names may call
	// the resource by (AIP-122/123), UpperCamel: google.api.resource's
	// singular and plural, and the collection identifiers of its patterns
	// (LogSink's "projects/{project}/sinks/{sink}" gives Sinks, so
	// ListSinks and GetSink are about LogSink).
	singulars, plurals []string
	// behaviours are the field behaviours (AIP-203) the message declares,
	// at any depth.
	behaviours behaviours

	// Generated names.
	repository  string // BookRepository
	newInMemory string // NewInMemoryBookRepository
	schema      string // BookSchema
}

// resourceInfo is what examining a message as a resource gave: the model,
// or why the message is not a resource.
type resourceInfo struct {
	r      *resourceModel
	reason string
}

// resourceIndex caches, by full name, the messages examined as resources.
// What it holds depends on each message alone, so sharing it across the
// files of a request does not make one file's output depend on another's.
type resourceIndex struct {
	byName map[protoreflect.FullName]resourceInfo
}

func newResourceIndex() *resourceIndex {
	return &resourceIndex{byName: map[protoreflect.FullName]resourceInfo{}}
}

// lookup returns the resource model of msg, or nil and the reason msg is
// not a resource.
func (x *resourceIndex) lookup(msg *protogen.Message) (*resourceModel, string) {
	if msg == nil {
		return nil, "no message"
	}
	if info, ok := x.byName[msg.Desc.FullName()]; ok {
		return info.r, info.reason
	}
	r, reason, err := examineResource(msg)
	if err != nil {
		reason = err.Error()
	}
	x.byName[msg.Desc.FullName()] = resourceInfo{r, reason}
	return r, reason
}

// resource returns the resource model of msg, or nil.
func (x *resourceIndex) resource(msg *protogen.Message) *resourceModel {
	r, _ := x.lookup(msg)
	return r
}

// checkResourceOptions validates the svc.v1.resource options of every
// message a file declares, so that an explicit key_field that cannot be a
// key fails generation naming the field, whether or not a service uses it.
func checkResourceOptions(file *protogen.File) error {
	var check func(msgs []*protogen.Message) error
	check = func(msgs []*protogen.Message) error {
		for _, m := range msgs {
			if _, _, err := examineResource(m); err != nil {
				return fmt.Errorf("%s: %v", file.Desc.Path(), err)
			}
			if err := check(m.Messages); err != nil {
				return err
			}
		}
		return nil
	}
	return check(file.Messages)
}

// examineResource decides whether msg is a resource and with which key:
// (svc.v1.resource).key_field wins; then google.api.resource's name field
// (name_field, else name); then name, when it is the first field (AIP-122)
// and the message also has an id; then id; then name, when the message has
// no id (and no <message>_id, unless name is the first field); then
// <message>_id. An explicit key_field that cannot be a key is an error.
func examineResource(msg *protogen.Message) (*resourceModel, string, error) {
	opt, _ := extension[*svcv1.Resource](msg.Desc.Options(), svcv1.E_Resource)
	if opt != nil && opt.Enabled != nil && !opt.GetEnabled() {
		return nil, fmt.Sprintf("%s is switched off as a resource by (svc.v1.resource).enabled = false", msg.Desc.Name()), nil
	}
	api, _ := extension[*annotations.ResourceDescriptor](msg.Desc.Options(), annotations.E_Resource)
	r := &resourceModel{msg: msg}
	name := msg.Desc.Name()
	// named are the patterns of the resource name, when the key is it:
	// those resourcename can read.
	var named []string
	switch {
	case opt.GetKeyField() != "":
		k := opt.GetKeyField()
		f := field(msg, k)
		if f == nil {
			return nil, "", fmt.Errorf("message %s: (svc.v1.resource).key_field names %q, which %s does not have", msg.Desc.FullName(), k, name)
		}
		if why := notKeyable(f); why != "" {
			return nil, "", fmt.Errorf("message %s: (svc.v1.resource).key_field %q cannot be the key: it is %s; a key is a singular string or integer field outside any oneof", msg.Desc.FullName(), k, why)
		}
		r.key, r.keyWhy = f, fmt.Sprintf("%s is the key, as (svc.v1.resource).key_field says", k)
	case api != nil:
		k := api.GetNameField()
		why := fmt.Sprintf("%s is the key: the resource name of google.api.resource", k)
		if k == "" {
			k, why = "name", "name is the key: the resource name of google.api.resource"
			for _, f := range msg.Fields {
				if isPlain(f, protoreflect.StringKind) && hasBehaviour(f, annotations.FieldBehavior_IDENTIFIER) {
					k, why = string(f.Desc.Name()), fmt.Sprintf("%s is the key: the resource name of google.api.resource, marked IDENTIFIER", f.Desc.Name())
					break
				}
			}
		}
		f := field(msg, k)
		if f == nil || !isPlain(f, protoreflect.StringKind) {
			return nil, fmt.Sprintf("%s has google.api.resource but no string field %s to hold its resource name", name, k), nil
		}
		r.key, r.keyWhy = f, why
		r.patterns = checkablePatterns(api.GetPattern())
		named = validPatterns(api.GetPattern())
		if len(r.patterns) > 0 {
			r.apiType = api.GetType()
		}
	default:
		id, nm := field(msg, "id"), field(msg, "name")
		own := field(msg, snake(string(name))+"_id")
		switch {
		case id != nil && nm != nil && isPlain(nm, protoreflect.StringKind) && msg.Fields[0] == nm:
			// AIP-122: a resource's first field is its name (App Engine's
			// Service: name "apps/a/services/s", then id "s").
			r.key, r.keyWhy = nm, "name is the key: the first field, as AIP-122 places a resource name (id is not)"
		case id != nil && notKeyable(id) == "":
			r.key, r.keyWhy = id, "id is the key"
			if nm != nil && isPlain(nm, protoreflect.StringKind) {
				r.warnings = append(r.warnings, fmt.Sprintf("%s has both id and name: keyed by id, since name is a resource name only with google.api.resource or as the first field (AIP-122); set (svc.v1.resource).key_field to choose", name))
			}
		case nm != nil && isPlain(nm, protoreflect.StringKind) && (own == nil || notKeyable(own) != "" || msg.Fields[0] == nm):
			r.key, r.keyWhy = nm, "name is the key (there is no id field)"
		case own != nil && notKeyable(own) == "":
			r.key, r.keyWhy = own, fmt.Sprintf("%s is the key (there is no id or name field)", own.Desc.Name())
			if nm != nil {
				r.keyWhy = fmt.Sprintf("%s is the key (there is no id, and name is not the first field, where AIP-122 places a resource name)", own.Desc.Name())
			}
		default:
			return nil, fmt.Sprintf("%s has no key field: no string or integer id, name or %s_id, and no (svc.v1.resource).key_field", name, snake(string(name))), nil
		}
	}
	r.singulars, r.plurals = apiNouns(api)
	r.behaviours = behavioursOf(msg)
	if f := field(msg, "etag"); f != nil && isPlain(f, protoreflect.StringKind) && f != r.key {
		r.etag = f
	}
	r.createTime = timestampField(msg, "create_time", "created_at")
	r.updateTime = timestampField(msg, "update_time", "updated_at")
	r.deletion = softDeletionOf(msg)
	if prefix := opt.GetKeyPrefix(); prefix != "" {
		r.keyPrefix = prefix
	} else if patterns := api.GetPattern(); len(patterns) == 1 && r.key.Desc.Kind() == protoreflect.StringKind {
		r.setPattern(patterns[0])
	}
	if r.pattern == "" && len(named) > 0 && opt.GetKeyPrefix() == "" {
		r.setChildren(named)
	}
	if r.keyPrefix != "" && r.key.Desc.Kind() != protoreflect.StringKind {
		return nil, "", fmt.Errorf("message %s: (svc.v1.resource).key_prefix needs a string key, and %s is %s", msg.Desc.FullName(), r.key.Desc.Name(), r.key.Desc.Kind())
	}
	for _, spec := range opt.GetIndex() {
		ix, err := indexSpec(msg, spec)
		if err != nil {
			return nil, "", fmt.Errorf("message %s: (svc.v1.resource).index %q: %v", msg.Desc.FullName(), spec, err)
		}
		if ix == string(r.key.Desc.Name()) {
			return nil, "", fmt.Errorf("message %s: (svc.v1.resource).index %q is the key, which every repository already orders by", msg.Desc.FullName(), spec)
		}
		if slices.Contains(r.indexes, ix) {
			return nil, "", fmt.Errorf("message %s: (svc.v1.resource).index %q is declared twice", msg.Desc.FullName(), spec)
		}
		r.indexes = append(r.indexes, ix)
	}
	n := msg.GoIdent.GoName
	r.repository = n + "Repository"
	r.newInMemory = "NewInMemory" + n + "Repository"
	r.schema = n + "Schema"
	return r, "", nil
}

// indexSpec checks one (svc.v1.resource).index declaration against msg, as
// svcstore.New will, and returns it normalised ("a.b,c").
func indexSpec(msg *protogen.Message, spec string) (string, error) {
	var names []string
	for raw := range strings.SplitSeq(spec, ",") {
		name := strings.TrimSpace(raw)
		if name == "" {
			return "", fmt.Errorf("empty field path")
		}
		m := msg
		parts := strings.Split(name, ".")
		for i, part := range parts {
			if m == nil {
				return "", fmt.Errorf("%s is not a message, so it has no field %q", parts[i-1], part)
			}
			f := field(m, part)
			if f == nil {
				return "", fmt.Errorf("%s has no field %q", m.Desc.FullName(), part)
			}
			if f.Desc.IsList() || f.Desc.IsMap() {
				return "", fmt.Errorf("field %s is repeated; only singular fields can be indexed", f.Desc.FullName())
			}
			m = f.Message
			if m != nil && (m.Desc.FullName() == "google.protobuf.Timestamp" || m.Desc.FullName() == "google.protobuf.Duration") {
				if i != len(parts)-1 {
					return "", fmt.Errorf("field %s is a %s: index the whole field", f.Desc.FullName(), m.Desc.FullName())
				}
				m = nil
				continue
			}
			if i == len(parts)-1 && m != nil {
				return "", fmt.Errorf("field %s is a message (%s); name one of its fields", f.Desc.FullName(), m.Desc.FullName())
			}
		}
		names = append(names, name)
	}
	return strings.Join(names, ","), nil
}

// generatedIdents lists the package-level identifiers of r's repository
// declarations, each pointing into r so that claimGenerated can rename it.
func (r *resourceModel) generatedIdents() []ident {
	return []ident{{&r.repository, "repository type"}, {&r.newInMemory, "repository constructor"}, {&r.schema, "repository schema function"}}
}

// setPattern reads a google.api.resource pattern: "books/{book}" has a fixed
// collection, which server-assigned keys get as prefix; "shelves/{shelf}/
// books/{book}" is a child collection, whose keys Create composes from the
// request's parent.
func (r *resourceModel) setPattern(pattern string) {
	parts := strings.Split(pattern, "/")
	if len(parts)%2 != 0 {
		// A singleton (AIP-156): collections and variables, then one
		// literal ("users/{user}/config"). Any other odd shape names no
		// collection to speak of.
		last := parts[len(parts)-1]
		parent, ok := alternation(parts[:len(parts)-1])
		if len(parts) < 3 || !ok || last == "" || strings.ContainsAny(last, "{}*=") {
			return
		}
		r.parentPattern = strings.Join(parent, "/")
		r.pattern, r.singleton = r.parentPattern+"/"+last, last
		return
	}
	starred, ok := alternation(parts)
	if !ok {
		return
	}
	r.pattern = strings.Join(starred, "/")
	if len(parts) == 2 {
		r.keyPrefix = parts[0] + "/"
		return
	}
	r.collection = parts[len(parts)-2]
	r.parentPattern = strings.Join(starred[:len(starred)-2], "/")
}

// alternation returns the segments of a pattern that alternates
// collections and variables ("shelves", "{shelf}", ...), its variables
// replaced by "*", or false.
func alternation(parts []string) ([]string, bool) {
	if len(parts) == 0 || len(parts)%2 != 0 {
		return nil, false
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		isVar := strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}")
		if isVar != (i%2 == 1) || p == "" || strings.ContainsAny(p, "*=") {
			return nil, false
		}
		out[i] = p
		if isVar {
			out[i] = "*"
		}
	}
	return out, true
}

// setChildren reads the patterns (valid, resourcename.ValidatePattern) of
// a resource with several, or with one that is no plain alternation of
// collections and variables ("projects/{project}/locations/global/tests/{test}",
// "projects/{project}/agent/intents/{intent}"): those ending in a
// collection and a variable after a parent are its children (Monitoring's
// UptimeCheckConfig also has the pattern "*", which names no parent and
// switches the name check off). When a
// parent could match the parents of two patterns of different collections
// ("projects/{project}/secrets/{secret}", "projects/{project}/keys/{key}"),
// the collection of a new resource is ambiguous, and there are none; so
// when a List under one parent could see names of another pattern.
func (r *resourceModel) setChildren(patterns []string) {
	var children, parents, collections []string
	for _, p := range patterns {
		parts := strings.Split(p, "/")
		if n := len(parts); n < 3 || !strings.HasPrefix(parts[n-1], "{") || strings.HasPrefix(parts[n-2], "{") {
			continue
		}
		parent, collection := childParts(p)
		for i, other := range parents {
			if collections[i] != collection && overlap(parent, other) {
				return
			}
		}
		children, parents, collections = append(children, p), append(parents, parent), append(collections, collection)
	}
	// A List under a parent keeps the keys starting with parent/collection/,
	// which are its children only when no longer pattern could start so
	// ("projects/{p}/secrets/{s}" and "projects/{p}/secrets/{s}/parts/{t}").
	for _, a := range children {
		as := strings.Split(a, "/")
		for _, b := range children {
			if bs := strings.Split(b, "/"); len(bs) > len(as) && overlap(strings.Join(as[:len(as)-1], "/"), strings.Join(bs[:len(as)-1], "/")) {
				return
			}
		}
	}
	r.children = children
}

// overlap reports whether one name could match both patterns: as many
// segments, and where both have a literal, the same one.
func overlap(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	if len(as) != len(bs) {
		return false
	}
	for i := range as {
		if !strings.HasPrefix(as[i], "{") && !strings.HasPrefix(bs[i], "{") && as[i] != bs[i] {
			return false
		}
	}
	return true
}

// isChildOf reports whether p is the parent resource of r: r's one nested
// pattern is under p's one pattern, or, for several, the parent of each of
// r's patterns with a parent is one of p's patterns (variables compared by
// position), so that every parent a request may name is a p.
func (r *resourceModel) isChildOf(p *resourceModel) bool {
	if r.parentPattern != "" {
		return p.pattern != "" && p.pattern == r.parentPattern
	}
	if len(r.children) == 0 || len(p.patterns) == 0 {
		return false
	}
	var own []string
	for _, pp := range p.patterns {
		own = append(own, starred(pp))
	}
	for _, c := range r.children {
		if parent, _ := childParts(c); !slices.Contains(own, starred(parent)) {
			return false
		}
	}
	return true
}

// hasParent reports whether r's names are under a parent: a nested
// pattern, or several patterns of which some have parents.
func (r *resourceModel) hasParent() bool {
	return r.parentPattern != "" || len(r.children) > 0
}

// parentForms says which parents r's names may be under, for doc comments:
// "shelves/*", or "projects/{project} or projects/{project}/locations/{location}".
func (r *resourceModel) parentForms() string {
	if r.parentPattern != "" {
		return r.parentPattern
	}
	var forms []string
	for _, c := range r.children {
		parent, _ := childParts(c)
		forms = append(forms, parent)
	}
	return strings.Join(forms, " or ")
}

// collections says which collection new children go into, for doc
// comments: "secrets", or "secrets or keys" when patterns differ.
func (r *resourceModel) collections() string {
	if r.parentPattern != "" {
		if r.singleton != "" {
			return r.singleton
		}
		return r.collection
	}
	var out []string
	for _, c := range r.children {
		if _, coll := childParts(c); !slices.Contains(out, coll) {
			out = append(out, coll)
		}
	}
	return strings.Join(out, " or ")
}

// childParts splits a child's pattern ("projects/{project}/secrets/{secret}")
// into its parent's ("projects/{project}") and its collection ("secrets").
func childParts(pattern string) (parent, collection string) {
	parts := strings.Split(pattern, "/")
	return strings.Join(parts[:len(parts)-2], "/"), parts[len(parts)-2]
}

// notKeyable says why f cannot be a key, or "" when it can: a key is a
// singular string or integer field outside any real oneof.
func notKeyable(f *protogen.Field) string {
	switch {
	case f.Desc.IsList(), f.Desc.IsMap():
		return "repeated"
	case f.Oneof != nil && !f.Oneof.Desc.IsSynthetic():
		return "in oneof " + string(f.Oneof.Desc.Name())
	}
	switch f.Desc.Kind() {
	case protoreflect.StringKind,
		protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return ""
	}
	return "a " + f.Desc.Kind().String() + " field"
}

// keyKindOf classifies a key field for the code that turns it into the
// repository's string key.
type keyKind int

const (
	keyString keyKind = iota
	keySigned
	keyUnsigned
)

func keyKindOf(f *protogen.Field) keyKind {
	switch f.Desc.Kind() {
	case protoreflect.StringKind:
		return keyString
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return keyUnsigned
	}
	return keySigned
}

// sameKeyType reports whether a request field can carry the key f: both
// strings, or both integers.
func sameKeyType(req, key *protogen.Field) bool {
	if notKeyable(req) != "" {
		return false
	}
	return (keyKindOf(req) == keyString) == (keyKindOf(key) == keyString)
}

// timestampField returns the first of the named fields that is a singular
// google.protobuf.Timestamp outside any oneof.
func timestampField(msg *protogen.Message, names ...string) *protogen.Field {
	for _, name := range names {
		if f := field(msg, name); f != nil && isMessage(f.Message, "google.protobuf.Timestamp") && !f.Desc.IsList() && f.Oneof == nil {
			return f
		}
	}
	return nil
}

// field returns msg's top-level field with the given proto name.
func field(msg *protogen.Message, name string) *protogen.Field {
	if msg == nil {
		return nil
	}
	for _, f := range msg.Fields {
		if string(f.Desc.Name()) == name {
			return f
		}
	}
	return nil
}

// isPlain reports whether f is a singular field of kind k outside any real
// oneof.
func isPlain(f *protogen.Field, k protoreflect.Kind) bool {
	return f.Desc.Kind() == k && f.Desc.Cardinality() != protoreflect.Repeated && (f.Oneof == nil || f.Oneof.Desc.IsSynthetic())
}

// isSingularMessage reports whether f is a singular message field outside
// any real oneof.
func isSingularMessage(f *protogen.Field) bool {
	return f.Message != nil && !f.Desc.IsList() && !f.Desc.IsMap() && (f.Oneof == nil || f.Oneof.Desc.IsSynthetic())
}

func isMessage(m *protogen.Message, fullName protoreflect.FullName) bool {
	return m != nil && m.Desc.FullName() == fullName
}

// isEmptyMessage reports whether m has no fields: google.protobuf.Empty or a
// file's own Empty.
func isEmptyMessage(m *protogen.Message) bool {
	return m != nil && len(m.Fields) == 0 && m.Desc.ExtensionRanges().Len() == 0
}

// pluralOf reports whether noun is an English plural of singular, as AIP
// method names use them (Books, Boxes, Libraries, Shelves).
func pluralOf(noun, singular string) bool {
	switch {
	case noun == singular+"s", noun == singular+"es":
		return true
	case strings.HasSuffix(singular, "y") && noun == strings.TrimSuffix(singular, "y")+"ies":
		return true
	case strings.HasSuffix(singular, "f") && noun == strings.TrimSuffix(singular, "f")+"ves",
		strings.HasSuffix(singular, "fe") && noun == strings.TrimSuffix(singular, "fe")+"ves":
		return true
	}
	return false
}

// named reports whether noun names the resource: its message name, or a
// plural of it; google.api.resource's singular or plural; or a collection
// identifier of its patterns, or its singular.
func (r *resourceModel) named(noun string) bool {
	for _, n := range append([]string{string(r.msg.Desc.Name())}, r.singulars...) {
		if noun == n || pluralOf(noun, n) {
			return true
		}
	}
	for _, n := range r.plurals {
		if noun == n || pluralOf(n, noun) {
			return true
		}
	}
	return false
}

// apiNouns returns the singular and plural nouns of a google.api.resource
// (nil: none), UpperCamel, each once, in the order the descriptor gives.
func apiNouns(api *annotations.ResourceDescriptor) (singulars, plurals []string) {
	add := func(list []string, noun string) []string {
		if noun == "" {
			return list
		}
		noun = strings.ToUpper(noun[:1]) + noun[1:]
		if slices.Contains(list, noun) {
			return list
		}
		return append(list, noun)
	}
	singulars = add(singulars, api.GetSingular())
	plurals = add(plurals, api.GetPlural())
	for _, p := range api.GetPattern() {
		segs := strings.Split(p, "/")
		// The collection is the literal before the last variable.
		if n := len(segs); n >= 2 && strings.HasPrefix(segs[n-1], "{") && !strings.HasPrefix(segs[n-2], "{") {
			plurals = add(plurals, segs[n-2])
		}
	}
	return singulars, plurals
}

// snake turns a Go-style noun (BookShelf) into a proto field name
// (book_shelf).
func snake(noun string) string {
	var b strings.Builder
	for i, r := range noun {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isOpen reports whether msg's Go code uses the open API (exported fields),
// the default up to edition 2023.
func isOpen(msg *protogen.Message) bool {
	return msg.APILevel == gofeaturespb.GoFeatures_API_OPEN || msg.APILevel == gofeaturespb.GoFeatures_API_LEVEL_UNSPECIFIED
}

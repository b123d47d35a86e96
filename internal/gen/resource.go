package gen

import (
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/gofeaturespb"

	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
)

// resourceModel is a message served as a resource from a repository.
type resourceModel struct {
	msg        *protogen.Message
	key        *protogen.Field // the string key field: name, id, or the option's
	etag       *protogen.Field // optional
	createTime *protogen.Field // optional google.protobuf.Timestamp
	updateTime *protogen.Field // optional google.protobuf.Timestamp
	keyPrefix  string          // from a one-collection google.api.resource pattern, e.g. "books/"

	// Generated names.
	repository    string // BookRepository
	newInMemory   string // NewInMemoryBookRepository
	schema        string // BookSchema
	skeletonField string // Book, the field of LibraryRepositories
}

// stdKind is a standard method shape served from a repository.
type stdKind int

const (
	stdGet stdKind = iota + 1
	stdList
	stdListStream
	stdCreate
	stdCreateFlat
	stdCreateStream
	stdUpdate
	stdUpdateOptional
	stdDelete
)

// standardMethod is how a method is served from its resource's repository.
// Fields that a shape does not use are nil.
type standardMethod struct {
	kind     stdKind
	resource *resourceModel

	key        *protogen.Field // request field holding the key (Get, Delete, UpdateOptional)
	etag       *protogen.Field // Delete's request etag
	wrap       *protogen.Field // response field holding the resource, when not the resource itself
	pageSize   *protogen.Field
	pageToken  *protogen.Field
	items      *protogen.Field // List response's repeated resource field
	nextToken  *protogen.Field
	body       *protogen.Field // Create/Update request's resource field
	id         *protogen.Field // Create request's <resource>_id field
	mask       *protogen.Field // Update request's update_mask
	flat       []fieldPair     // CreateFlat / UpdateOptional: request field -> resource field
	returnsMsg bool            // Delete returns the resource (else Empty)
}

type fieldPair struct{ req, res *protogen.Field }

// asResource returns the resource model of msg, or nil when msg cannot be a
// resource (no string key field, or the svc.v1.resource option says no).
func asResource(msg *protogen.Message, resources *resourceIndex) *resourceModel {
	if msg == nil {
		return nil
	}
	if r, ok := resources.byName[msg.Desc.FullName()]; ok {
		return r
	}
	opt, _ := extension[*svcv1.Resource](msg.Desc.Options(), svcv1.E_Resource)
	if opt != nil && opt.Enabled != nil && !opt.GetEnabled() {
		resources.add(msg.Desc.FullName(), nil)
		return nil
	}
	api, _ := extension[*annotations.ResourceDescriptor](msg.Desc.Options(), annotations.E_Resource)
	var keyNames []string
	switch {
	case opt.GetKeyField() != "":
		keyNames = []string{opt.GetKeyField()}
	case api.GetNameField() != "":
		keyNames = []string{api.GetNameField()}
	default:
		keyNames = []string{"name", "id"}
	}
	r := &resourceModel{msg: msg}
	for _, k := range keyNames {
		if f := field(msg, k); f != nil && isPlain(f, protoreflect.StringKind) {
			r.key = f
			break
		}
	}
	if r.key == nil {
		resources.add(msg.Desc.FullName(), nil)
		return nil
	}
	if f := field(msg, "etag"); f != nil && isPlain(f, protoreflect.StringKind) {
		r.etag = f
	}
	for _, t := range []struct {
		name string
		dst  **protogen.Field
	}{{"create_time", &r.createTime}, {"update_time", &r.updateTime}} {
		if f := field(msg, t.name); f != nil && f.Message != nil && f.Message.Desc.FullName() == "google.protobuf.Timestamp" && !f.Desc.IsList() && f.Oneof == nil {
			*t.dst = f
		}
	}
	if prefix := opt.GetKeyPrefix(); prefix != "" {
		r.keyPrefix = prefix
	} else if patterns := api.GetPattern(); len(patterns) == 1 {
		// "books/{book}" has a fixed collection: server-assigned keys get it
		// as prefix. Nested patterns need a parent this shape cannot know.
		if parts := strings.Split(patterns[0], "/"); len(parts) == 2 && !strings.Contains(parts[0], "{") && strings.HasPrefix(parts[1], "{") {
			r.keyPrefix = parts[0] + "/"
		}
	}
	n := msg.GoIdent.GoName
	r.repository = n + "Repository"
	r.newInMemory = "NewInMemory" + n + "Repository"
	r.schema = n + "Schema"
	r.skeletonField = n
	resources.add(msg.Desc.FullName(), r)
	return r
}

// field returns msg's top-level field with the given proto name.
func field(msg *protogen.Message, name string) *protogen.Field {
	for _, f := range msg.Fields {
		if string(f.Desc.Name()) == name {
			return f
		}
	}
	return nil
}

// isPlain reports whether f is a singular field of kind k outside any oneof.
func isPlain(f *protogen.Field, k protoreflect.Kind) bool {
	return f.Desc.Kind() == k && f.Desc.Cardinality() != protoreflect.Repeated && (f.Oneof == nil || f.Oneof.Desc.IsSynthetic())
}

// onlyFields reports whether msg has exactly the given fields (nil entries
// are optional ones that are absent).
func onlyFields(msg *protogen.Message, fields ...*protogen.Field) bool {
	n := 0
	for _, f := range fields {
		if f != nil {
			n++
		}
	}
	return len(msg.Fields) == n
}

func isMessage(m *protogen.Message, fullName protoreflect.FullName) bool {
	return m != nil && m.Desc.FullName() == fullName
}

// splitVerb splits a method name like GetBook into its AIP verb and noun.
func splitVerb(name string) (verb, noun string) {
	for _, v := range []string{"BatchCreate", "Get", "List", "Create", "Update", "Delete", "Import"} {
		if rest, ok := strings.CutPrefix(name, v); ok && rest != "" && rest[0] >= 'A' && rest[0] <= 'Z' {
			return v, rest
		}
	}
	return "", ""
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

// singleFieldOf returns msg's only field when it holds a singular message,
// for responses that wrap the resource (GetBookResponse{book}).
func singleFieldOf(msg *protogen.Message) *protogen.Field {
	if len(msg.Fields) != 1 {
		return nil
	}
	f := msg.Fields[0]
	if f.Message == nil || f.Desc.IsList() || f.Desc.IsMap() || f.Oneof != nil {
		return nil
	}
	return f
}

// keyOf returns the request field holding the key of r: same proto name as
// the resource's key field.
func keyOf(req *protogen.Message, r *resourceModel) *protogen.Field {
	f := field(req, string(r.key.Desc.Name()))
	if f == nil || !isPlain(f, protoreflect.StringKind) {
		return nil
	}
	return f
}

// recogniseMethod returns how m is served from a repository, or nil when its
// shape is not understood (it then stays Unimplemented). resources indexes
// the messages already examined, by full name (nil: not a resource).
func recogniseMethod(m *protogen.Method, resources *resourceIndex) *standardMethod {
	verb, noun := splitVerb(string(m.Desc.Name()))
	if verb == "" {
		return nil
	}
	kind := kindOf(m)
	in, out := m.Input, m.Output
	named := func(msg *protogen.Message) *resourceModel {
		if msg == nil || string(msg.Desc.Name()) != noun {
			return nil
		}
		return asResource(msg, resources)
	}
	switch verb {
	case "Get":
		if kind != unary {
			return nil
		}
		std := &standardMethod{kind: stdGet, resource: named(out)}
		if std.resource == nil {
			if std.wrap = singleFieldOf(out); std.wrap == nil {
				return nil
			}
			if std.resource = named(std.wrap.Message); std.resource == nil {
				return nil
			}
		}
		if std.key = keyOf(in, std.resource); std.key == nil || !onlyFields(in, std.key) {
			return nil
		}
		return std
	case "List":
		std := &standardMethod{pageSize: field(in, "page_size"), pageToken: field(in, "page_token")}
		if std.pageSize != nil && !isPlain(std.pageSize, protoreflect.Int32Kind) || std.pageToken != nil && !isPlain(std.pageToken, protoreflect.StringKind) {
			return nil
		}
		if !onlyFields(in, std.pageSize, std.pageToken) {
			return nil // filter, order_by, parent...: not served by a plain ordered store
		}
		switch kind {
		case serverStreaming:
			std.kind, std.resource = stdListStream, asResource(out, resources)
			if std.resource == nil || !pluralOf(noun, string(out.Desc.Name())) {
				return nil
			}
			return std
		case unary:
			if std.pageSize == nil || std.pageToken == nil {
				return nil
			}
			std.kind, std.nextToken = stdList, field(out, "next_page_token")
			if std.nextToken == nil || !isPlain(std.nextToken, protoreflect.StringKind) {
				return nil
			}
			for _, f := range out.Fields {
				if f.Desc.IsList() && f.Message != nil && f.Oneof == nil {
					if std.items != nil {
						return nil // two lists: which one is the page?
					}
					std.items = f
				}
			}
			if std.items == nil || !onlyFields(out, std.items, std.nextToken) || !pluralOf(noun, string(std.items.Message.Desc.Name())) {
				return nil
			}
			if std.resource = asResource(std.items.Message, resources); std.resource == nil {
				return nil
			}
			return std
		}
		return nil
	case "Create":
		if kind == clientStreaming || kind == bidiStreaming {
			return nil
		}
		if kind != unary || named(out) == nil {
			return nil
		}
		r := named(out)
		std := &standardMethod{resource: r}
		for _, f := range in.Fields {
			if f.Message != nil && f.Message.Desc.FullName() == r.msg.Desc.FullName() && !f.Desc.IsList() && f.Oneof == nil {
				std.body = f
			}
		}
		if std.body != nil {
			std.kind = stdCreate
			if id := field(in, string(std.body.Desc.Name())+"_id"); id != nil && isPlain(id, protoreflect.StringKind) {
				std.id = id
			}
			if !onlyFields(in, std.body, std.id) {
				return nil
			}
			return std
		}
		std.kind = stdCreateFlat
		if std.flat = flatFields(in, r, false); std.flat == nil {
			return nil
		}
		return std
	case "BatchCreate", "Import":
		// A client stream of resources answered with the created ones (or
		// Empty): the shape of a bulk import.
		if kind != clientStreaming || !pluralOf(noun, string(in.Desc.Name())) {
			return nil
		}
		std := &standardMethod{kind: stdCreateStream, resource: asResource(in, resources)}
		if std.resource == nil {
			return nil
		}
		if isMessage(out, "google.protobuf.Empty") {
			return std
		}
		if f := singleRepeated(out, in); f != nil {
			std.items = f
			return std
		}
		return nil
	case "Update":
		r := named(out)
		if kind != unary || r == nil {
			return nil
		}
		std := &standardMethod{resource: r}
		if body := field(in, snake(noun)); body != nil && isMessage(body.Message, r.msg.Desc.FullName()) && !body.Desc.IsList() && body.Oneof == nil {
			std.kind, std.body = stdUpdate, body
			if mask := field(in, "update_mask"); mask != nil && isMessage(mask.Message, "google.protobuf.FieldMask") && !mask.Desc.IsList() {
				std.mask = mask
			}
			if !onlyFields(in, std.body, std.mask) {
				return nil
			}
			return std
		}
		std.kind = stdUpdateOptional
		if std.key = keyOf(in, r); std.key == nil {
			return nil
		}
		if std.flat = flatFields(in, r, true); std.flat == nil {
			return nil
		}
		return std
	case "Delete":
		if kind != unary {
			return nil
		}
		std := &standardMethod{kind: stdDelete}
		if r := named(out); r != nil {
			std.resource, std.returnsMsg = r, true
		} else if isMessage(out, "google.protobuf.Empty") {
			std.resource = resourceByNoun(noun, resources)
		}
		if std.resource == nil {
			return nil
		}
		if std.key = keyOf(in, std.resource); std.key == nil {
			return nil
		}
		if etag := field(in, "etag"); etag != nil && isPlain(etag, protoreflect.StringKind) {
			std.etag = etag
		}
		if !onlyFields(in, std.key, std.etag) {
			return nil
		}
		return std
	}
	return nil
}

// resourceIndex remembers the messages examined as resources across the
// request: by full name (nil: examined, not a resource), and the resources
// by message name, for resourceByNoun. An entry is added once and never
// changes.
type resourceIndex struct {
	byName map[protoreflect.FullName]*resourceModel
	byNoun map[protoreflect.Name][]*resourceModel
}

func newResourceIndex() *resourceIndex {
	return &resourceIndex{byName: map[protoreflect.FullName]*resourceModel{}, byNoun: map[protoreflect.Name][]*resourceModel{}}
}

func (x *resourceIndex) add(name protoreflect.FullName, r *resourceModel) {
	x.byName[name] = r
	if r != nil {
		x.byNoun[name.Name()] = append(x.byNoun[name.Name()], r)
	}
}

// resourceByNoun finds an already recognised resource by message name, for
// Delete methods that return Empty and so name their resource only in the
// method name. Resources are recognised in method order; AIP services
// declare Get before Delete.
func resourceByNoun(noun string, resources *resourceIndex) *resourceModel {
	if rs := resources.byNoun[protoreflect.Name(noun)]; len(rs) == 1 {
		return rs[0]
	}
	return nil // none, or ambiguous
}

// singleRepeated returns out's only field when it is a repeated elem.
func singleRepeated(out, elem *protogen.Message) *protogen.Field {
	if len(out.Fields) != 1 {
		return nil
	}
	f := out.Fields[0]
	if !f.Desc.IsList() || !isMessage(f.Message, elem.Desc.FullName()) {
		return nil
	}
	return f
}

// flatFields pairs every request field with the resource field of the same
// name and the same Go type. For an optional update (optionalSet), the key
// field is paired separately and every other field must have presence, which
// is what says "set this". Both messages must use the open Go API, whose
// fields generated code assigns directly. Any field that does not pair makes
// the shape not understood (nil).
func flatFields(req *protogen.Message, r *resourceModel, optionalSet bool) []fieldPair {
	if !isOpen(req) || !isOpen(r.msg) {
		return nil
	}
	var pairs []fieldPair
	for _, f := range req.Fields {
		if optionalSet && f.Desc.Name() == r.key.Desc.Name() {
			continue
		}
		res := field(r.msg, string(f.Desc.Name()))
		if res == nil || !sameGoType(f, res, !optionalSet) {
			return nil
		}
		if optionalSet && !f.Desc.HasPresence() {
			return nil
		}
		if res == r.etag || res == r.createTime || res == r.updateTime {
			return nil // output-only fields are the store's
		}
		pairs = append(pairs, fieldPair{f, res})
	}
	if len(pairs) == 0 {
		return nil
	}
	return pairs
}

// sameGoType reports whether a and b have the same Go type in the open API:
// same kind, cardinality, message or enum type, and (when samePresence)
// presence, and neither is in a real oneof. An optional update reads a
// request field that has presence into a resource field that may not, so it
// compares values, not presence.
func sameGoType(a, b *protogen.Field, samePresence bool) bool {
	da, db := a.Desc, b.Desc
	if da.Kind() != db.Kind() || da.Cardinality() != db.Cardinality() || da.IsMap() != db.IsMap() {
		return false
	}
	if a.Oneof != nil && !a.Oneof.Desc.IsSynthetic() || b.Oneof != nil && !b.Oneof.Desc.IsSynthetic() {
		return false
	}
	if da.IsMap() {
		return sameGoType(a.Message.Fields[0], b.Message.Fields[0], true) && sameGoType(a.Message.Fields[1], b.Message.Fields[1], true)
	}
	if da.Message() != nil && da.Message().FullName() != db.Message().FullName() {
		return false
	}
	if da.Enum() != nil && da.Enum().FullName() != db.Enum().FullName() {
		return false
	}
	scalar := da.Message() == nil && !da.IsList()
	return !samePresence || !scalar || da.HasPresence() == db.HasPresence()
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

// describe names a standard method's shape for doc comments.
func (s *standardMethod) describe() string {
	r := s.resource.msg.Desc.Name()
	return map[stdKind]string{
		stdGet:            fmt.Sprintf("reads the %s from the repository", r),
		stdList:           fmt.Sprintf("lists a page of %s resources from the repository", r),
		stdListStream:     fmt.Sprintf("streams %s resources from the repository, page by page", r),
		stdCreate:         fmt.Sprintf("creates the %s in the repository", r),
		stdCreateFlat:     fmt.Sprintf("creates a %s from the request's fields in the repository", r),
		stdCreateStream:   fmt.Sprintf("creates every %s the client streams in the repository", r),
		stdUpdate:         fmt.Sprintf("updates the %s in the repository", r),
		stdUpdateOptional: fmt.Sprintf("updates the %s fields the request sets in the repository", r),
		stdDelete:         fmt.Sprintf("deletes the %s from the repository", r),
	}[s.kind]
}

// isOpen reports whether msg's Go code uses the open API (exported fields),
// the default up to edition 2023.
func isOpen(msg *protogen.Message) bool {
	return msg.APILevel == gofeaturespb.GoFeatures_API_OPEN || msg.APILevel == gofeaturespb.GoFeatures_API_LEVEL_UNSPECIFIED
}

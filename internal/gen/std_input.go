package gen

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// inputMapping is how a Create request (or each message of a BatchCreate
// stream) becomes the resource to store.
type inputMapping struct {
	msg          *protogen.Message
	whole        bool            // the message is the resource itself
	body         *protogen.Field // the field holding the resource (book)
	id           *protogen.Field // the client-chosen id (book_id)
	validateOnly *protogen.Field // an AIP-163 validate_only, for a string key
	parent       *protogen.Field // the parent of a child collection
	// parentInto is the request's parent when the resource keeps it in a
	// field of its own, ownParent (Resource Manager v2's Folder.parent),
	// its names having no parent.
	parentInto, ownParent *protogen.Field
	// bodyID is the resource's own id field, the client's choice of the
	// last segment of a new name under a guessed collection when the
	// request has no id field (App Engine's Version.id: "v1").
	bodyID *protogen.Field
	// bodyKey says the resource's own key, as the client sent it, chooses
	// the new name's last segment under a guessed collection when the
	// request has no id field and the resource no id of its own (ML
	// Engine's Version.name "v1", GKE's Cluster.name "prod").
	bodyKey    bool
	collection string            // the collection under parent guessed for a resource without patterns
	fields     []fieldMapping    // flat: request fields that set resource fields
	notes      []string          // what a reader should know
	guess      []string          // mappings made by a guess: warnings
	refuse     []*protogen.Field // fields refused when set
}

// inputFields returns the flat mappings of a Create-like method.
func (s *standardMethod) inputFields() []fieldMapping {
	if s.input == nil {
		return nil
	}
	return s.input.fields
}

// readInput reads msg as the input of a Create of r: the resource itself, a
// field holding it (with an optional client-chosen id and parent), or flat
// fields with the names and types of the resource's. Fields that map onto
// nothing are refused when set, and said so.
func readInput(msg *protogen.Message, r *resourceModel) (*inputMapping, string) {
	return readInputUnder(msg, r, "", "")
}

// idField returns the client-chosen id of a Create of r (AIP-133): a
// string field named after the resource with _id, by its message
// (book_id), its google.api.resource singular, or the variable of its
// patterns' last segment (Logging's LogBucket, ".../buckets/{bucket}",
// takes bucket_id), or nil.
func idField(msg *protogen.Message, r *resourceModel) *protogen.Field {
	names := []string{snake(string(r.msg.Desc.Name()))}
	for _, s := range r.singulars {
		names = append(names, snake(s))
	}
	for _, p := range r.patterns {
		last := p[strings.LastIndex(p, "/")+1:]
		if v, ok := strings.CutPrefix(last, "{"); ok {
			names = append(names, strings.TrimSuffix(v, "}"))
		}
	}
	for _, n := range names {
		if id := field(msg, n+"_id"); id != nil && isPlain(id, protoreflect.StringKind) {
			return id
		}
	}
	return nil
}

// readInputUnder is readInput for a resource without patterns whose new
// names go into collection under the request's parent (when it has one),
// as the method named by noun says.
func readInputUnder(msg *protogen.Message, r *resourceModel, collection, noun string) (*inputMapping, string) {
	in := &inputMapping{msg: msg}
	if msg.Desc.FullName() == r.msg.Desc.FullName() {
		in.whole = true
		return in, ""
	}
	for _, f := range msg.Fields {
		if isSingularMessage(f) && f.Message.Desc.FullName() == r.msg.Desc.FullName() {
			if in.body != nil {
				return nil, fmt.Sprintf("%s has two %s fields", msg.Desc.Name(), r.msg.Desc.Name())
			}
			in.body = f
		}
	}
	if p := parentField(msg, r, false); p != nil {
		switch {
		case r.hasParent() && r.singleton == "":
			// (A singleton's Create, which AIP-156 does without, takes its
			// name as sent.)
			in.parent = p
		case collection != "":
			in.parent, in.collection = p, collection
			note := collectionNote(r, p, collection, "the method's noun "+noun)
			in.guess = append(in.guess, note)
		case in.body != nil && !r.hasParent():
			if own := field(r.msg, string(p.Desc.Name())); own != nil && isPlain(own, protoreflect.StringKind) && own != r.key {
				in.parentInto, in.ownParent = p, own
				in.notes = append(in.notes, fmt.Sprintf("%s.%s is stored as the %s's %s (its names have no parent); a %s.%s.%s that differs is InvalidArgument", msg.Desc.Name(), p.Desc.Name(), r.msg.Desc.Name(), own.Desc.Name(), msg.Desc.Name(), in.body.Desc.Name(), own.Desc.Name()))
			}
		}
	}
	if v := validateOnlyOf(msg); v != nil && keyKindOf(r.key) == keyString {
		in.validateOnly = v
	}
	if in.body != nil {
		if keyKindOf(r.key) == keyString {
			in.id = idField(msg, r)
		}
		in.refuse = rest(msg, in.body, in.id, in.parent, in.parentInto, in.validateOnly)
	} else {
		if !isOpen(msg) || !isOpen(r.msg) {
			return nil, fmt.Sprintf("%s has no %s field, and flat fields need the open Go API", msg.Desc.Name(), r.msg.Desc.Name())
		}
		for _, f := range msg.Fields {
			if f == in.parent || f == in.validateOnly {
				continue
			}
			if m, guess := flatField(f, r); m != nil {
				in.fields = append(in.fields, *m)
				if guess != "" {
					in.guess = append(in.guess, guess)
				}
				continue
			}
			in.refuse = append(in.refuse, f)
		}
		if len(in.fields) == 0 {
			return nil, fmt.Sprintf("%s has no %s field and none of its fields has the name and type of a field of %s", msg.Desc.Name(), r.msg.Desc.Name(), r.msg.Desc.Name())
		}
	}
	if note := parentNamedNote(msg, in.parent); note != "" {
		in.notes = append(in.notes, note)
	}
	if r.parentPattern != "" && r.singleton == "" && in.parent == nil {
		return nil, fmt.Sprintf("%s names are nested (%s) and %s has no parent field to put a new one under", r.msg.Desc.Name(), r.pattern, msg.Desc.Name())
	}
	if in.body != nil && in.id == nil && in.collection != "" {
		// (An OUTPUT_ONLY id, GKE's Cluster.id, is the server's, not a
		// client's choice of name.)
		if f := field(r.msg, "id"); f != nil && isPlain(f, protoreflect.StringKind) && f != r.key && !hasBehaviour(f, annotations.FieldBehavior_OUTPUT_ONLY) {
			in.bodyID = f
		} else {
			in.bodyKey = keyKindOf(r.key) == keyString
		}
	}
	switch {
	case in.bodyKey:
		in.notes = append(in.notes, fmt.Sprintf("the new %s is %s/%s/<id>, the id being the %s.%s sent when it is one segment (a server-assigned one when it is empty; a full name under %s is kept as sent)", r.key.Desc.Name(), in.parent.Desc.Name(), in.collectionsOf(r), in.body.Desc.Name(), r.key.Desc.Name(), in.parent.Desc.Name()))
	case in.bodyID != nil:
		in.notes = append(in.notes, fmt.Sprintf("the new %s is %s/%s/<%s.%s> (a server-assigned id when it is empty, set as %s.%s too)", r.key.Desc.Name(), in.parent.Desc.Name(), in.collectionsOf(r), in.body.Desc.Name(), in.bodyID.Desc.Name(), in.body.Desc.Name(), in.bodyID.Desc.Name()))
	case in.parent != nil && in.id != nil:
		note := fmt.Sprintf("the new %s is %s/%s/<%s>", r.key.Desc.Name(), in.parent.Desc.Name(), in.collectionsOf(r), in.id.Desc.Name())
		if !hasBehaviour(in.id, annotations.FieldBehavior_REQUIRED) {
			note += fmt.Sprintf(" (a server-assigned id when %s is empty)", in.id.Desc.Name())
		}
		in.notes = append(in.notes, note+r.childrenNote(in.parent))
	case in.parent != nil:
		in.notes = append(in.notes, fmt.Sprintf("the new %s is %s/%s/<a server-assigned id>", r.key.Desc.Name(), in.parent.Desc.Name(), in.collectionsOf(r))+r.childrenNote(in.parent))
	case in.id != nil:
		note := fmt.Sprintf("%s chooses the key %s%s", in.id.Desc.Name(), r.keyPrefix, "<"+string(in.id.Desc.Name())+">")
		if !hasBehaviour(in.id, annotations.FieldBehavior_REQUIRED) {
			note += " (a server-assigned one when empty)"
		}
		in.notes = append(in.notes, note)
	}
	return in, ""
}

// flatField maps a flat request field onto the resource: the field of the
// same name and Go type, or, for x_id, the key of the resource's message
// field x (a guess, returned as a warning).
func flatField(f *protogen.Field, r *resourceModel) (*fieldMapping, string) {
	if isDeprecated(f) {
		// A deprecated request field names the old way of addressing the
		// resource (GKE's zone beside name), never a change to it.
		return nil, ""
	}
	if res := field(r.msg, string(f.Desc.Name())); res != nil && sameGoType(f, res, true) {
		if res == r.etag || res == r.createTime || res == r.updateTime {
			return nil, "" // output-only fields are the store's
		}
		return &fieldMapping{req: f, path: []*protogen.Field{res}}, ""
	}
	if path := keyPathOf(f, r, "_id"); path != nil {
		return &fieldMapping{req: f, path: path}, fmt.Sprintf("%s is stored as %s.%s (a guess from its name)", f.Desc.Name(), r.msg.Desc.Name(), pathName(path))
	}
	return nil, ""
}

// isDeprecated reports whether f has the option deprecated.
func isDeprecated(f *protogen.Field) bool {
	opts, _ := f.Desc.Options().(*descriptorpb.FieldOptions)
	return opts.GetDeprecated()
}

// keyPathOf returns the path x.<key> when f is named x<suffix>, the resource
// has a singular message field x, and f has the type of that message's id
// (or name) field: category_id is category.id.
func keyPathOf(f *protogen.Field, r *resourceModel, suffix string) []*protogen.Field {
	base, ok := strings.CutSuffix(string(f.Desc.Name()), suffix)
	if !ok || notKeyable(f) != "" {
		return nil
	}
	x := field(r.msg, base)
	if x == nil || !isSingularMessage(x) || !isOpen(x.Message) {
		return nil
	}
	for _, k := range []string{"id", "name"} {
		if kf := field(x.Message, k); kf != nil && notKeyable(kf) == "" && sameGoType(f, kf, true) {
			return []*protogen.Field{x, kf}
		}
	}
	return nil
}

// sameGoType reports whether a and b have the same Go type in the open API:
// same kind, cardinality, message or enum type, and (when samePresence)
// presence, and neither is in a real oneof.
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

// describeInput says how the input becomes a resource, for summaries.
func (in *inputMapping) describe() string {
	switch {
	case in.whole:
		return "the " + string(in.msg.Desc.Name())
	case in.body != nil:
		return string(in.msg.Desc.Name()) + "." + string(in.body.Desc.Name())
	}
	var names []string
	for _, m := range in.fields {
		names = append(names, string(m.req.Desc.Name()))
	}
	return "the fields " + strings.Join(names, ", ") + " of " + string(in.msg.Desc.Name())
}

// emitInput writes the statements that turn the input in (an expression of
// the input message) into the resource to store, and returns the variable
// holding it. results is what the method returns before an error.
func (w *methodWriter) emitInput(in string, results string) string {
	im, r := w.std.input, w.std.resource
	msg := w.v.of("msg")
	prepare := w.needsPrepare()
	// path is where the resource is in the request, for errors.
	path := ""
	switch {
	case im.whole:
		if !prepare {
			w.checkNewName(in, "", results)
			return in
		}
		w.P("// The request stays as the caller made it.")
		w.P(msg, " := ", w.id(protoPackage, "CloneOf"), "(", in, ")")
	case im.body != nil:
		w.checkRequired(im.msg, in, results)
		path = string(im.body.Desc.Name())
		w.P(msg, " := ", w.get(in, im.body))
		w.P("if ", msg, " == nil {")
		w.P("return ", results, w.id(statusPackage, "Error"), "(", w.id(codesPackage, "InvalidArgument"), ", ", strconv.Quote(string(im.msg.Desc.Name())+"."+string(im.body.Desc.Name())+" is required"), ")")
		w.P("}")
		if im.parent == nil && im.id == nil && im.parentInto == nil && !prepare {
			w.checkNewName(msg, path, results)
			return msg
		}
		w.P("// The request stays as the caller made it.")
		w.P(msg, " = ", w.id(protoPackage, "CloneOf"), "(", msg, ")")
		if p := im.parentInto; p != nil {
			own, given := im.ownParent, w.v.of("given")
			w.P("if ", given, " := ", w.get(msg, own), "; ", given, ` != "" && `, given, " != ", w.get(in, p), " {")
			w.P("return ", results, w.id(statusPackage, "Errorf"), "(", w.id(codesPackage, "InvalidArgument"), ", ", strconv.Quote(path+"."+string(own.Desc.Name())+" %q is not the request's "+string(p.Desc.Name())+" %q"), ", ", given, ", ", w.get(in, p), ")")
			w.P("}")
			w.P(w.a.set(msg, r.msg, own, w.get(in, p)))
		}
	default:
		w.checkRequired(im.msg, in, results)
		var fields []string
		for _, m := range im.fields {
			if len(m.path) == 1 {
				fields = append(fields, m.path[0].GoName, w.valueOf(in, m.req, m.path[0]))
			}
		}
		w.P(msg, " := ", w.a.newMessage(r.msg, fields...))
		for _, m := range im.fields {
			if len(m.path) > 1 {
				w.P("if ", w.isSet(in, m.req), " {")
				w.setPath(msg, m.path, w.get(in, m.req))
				w.P("}")
			}
		}
	}
	if prepare {
		w.P("if ", w.err, " := ", w.id(svcaipPackage, "PrepareCreate"), "(", msg, ", ", strconv.Quote(path), ", ", strconv.Quote(string(r.key.Desc.Name())), "); ", w.err, " != nil {")
		w.P("return ", results, w.err)
		w.P("}")
	}
	id := `""`
	if im.id != nil {
		id = w.get(in, im.id)
	}
	switch {
	case im.parent != nil:
		prefix := w.v.of("prefix")
		w.childKeyPrefix(prefix, in, im.parent)
		w.onError(results)
		if w.std.parentResource != nil {
			parentRepo := w.recv + ".repos." + w.sm.repoField(w.std.parentResource)
			w.P("if ", parentRepo, " != nil {")
			w.P("// The parent must exist.")
			w.P("if _, ", w.err, " := ", parentRepo, ".Get(", w.callCtx, ", ", w.get(in, im.parent), "); ", w.err, " != nil {")
			w.P("return ", results, w.err)
			w.P("}")
			w.P("}")
		}
		if f := im.bodyID; f != nil {
			// The resource's own id names it (App Engine's Version.id).
			idv := w.v.of("id")
			w.P(idv, " := ", w.get(msg, f))
			w.P("if ", w.err, " := ", w.id(svcaipPackage, "CheckID"), "(", strconv.Quote(path+"."+string(f.Desc.Name())), ", ", idv, "); ", w.err, " != nil {")
			w.P("return ", results, w.err)
			w.P("}")
			w.P("if ", idv, ` == "" {`)
			w.P(idv, " = ", w.id(svcstorePackage, "NewID"), "()")
			w.P(w.a.set(msg, r.msg, f, idv))
			w.P("}")
			w.P(w.a.set(msg, r.msg, r.key, prefix+" + "+idv))
			break
		}
		if im.bodyKey {
			// The resource's own name, as sent, chooses its last segment.
			named := w.v.of("named")
			w.P(named, ", ", w.err, " := ", w.id(svcaipPackage, "NameUnder"), "(", strconv.Quote(path+"."+string(r.key.Desc.Name())), ", ", prefix, ", ", w.get(msg, r.key), ")")
			w.P("if ", w.err, " != nil {")
			w.P("return ", results, w.err)
			w.P("}")
			w.P(w.a.set(msg, r.msg, r.key, named))
			break
		}
		if im.id == nil {
			w.P(w.a.set(msg, r.msg, r.key, prefix+" + "+w.id(svcstorePackage, "NewID")+"()"))
			break
		}
		idv := w.v.of("id")
		w.P(idv, " := ", id)
		if im.collection != "" {
			// No pattern to check the composed name against: the id is
			// checked to be one segment.
			w.P("if ", w.err, " := ", w.id(svcaipPackage, "CheckID"), "(", strconv.Quote(string(im.id.Desc.Name())), ", ", idv, "); ", w.err, " != nil {")
			w.P("return ", results, w.err)
			w.P("}")
		}
		w.P("if ", idv, ` == "" {`)
		w.P(idv, " = ", w.id(svcstorePackage, "NewID"), "()")
		w.P("}")
		w.P(w.a.set(msg, r.msg, r.key, prefix+" + "+idv))
	case im.id != nil:
		idv := w.v.of("id")
		w.P("if ", idv, " := ", id, "; ", idv, ` != "" {`)
		key := idv
		if r.keyPrefix != "" {
			key = strconv.Quote(r.keyPrefix) + " + " + idv
		}
		w.P(w.a.set(msg, r.msg, r.key, key))
		w.P("}")
	}
	switch {
	case im.parent != nil && im.id != nil:
		// Composed from the parent and the client's id, which may hold a
		// "/"; one composed with a server-assigned id is of the pattern.
		w.checkName(w.keyLabel(path), w.get(msg, r.key), results)
	case im.parent == nil:
		w.checkNewName(msg, path, results)
	}
	return msg
}

// collectionsOf says which collection new resources go into, for doc
// comments.
func (in *inputMapping) collectionsOf(r *resourceModel) string {
	if in.collection != "" {
		return in.collection
	}
	return r.collections()
}

// childrenNote says, for a resource with several patterns, that a parent
// of any of them is accepted; "" for one pattern.
func (r *resourceModel) childrenNote(parent *protogen.Field) string {
	if len(r.children) == 0 {
		return ""
	}
	return fmt.Sprintf(", by the pattern %s matches (%s; any other is InvalidArgument)", parent.Desc.Name(), strings.Join(r.children, ", "))
}

// childKeyPrefix writes the statement that sets prefix (and w.err) to the
// key prefix of the children under the parent field of in: by the one
// nested pattern (svcserver.ChildKeyPrefix), or by whichever of several
// patterns the parent matches (svcaip.ChildKeyPrefix).
func (w *methodWriter) childKeyPrefix(prefix, in string, parent *protogen.Field) {
	r := w.std.resource
	if c := w.std.collection; c != "" {
		w.P(prefix, ", ", w.err, " := ", w.id(svcaipPackage, "CollectionKeyPrefix"), "(", strconv.Quote(string(parent.Desc.Name())), ", ", w.get(in, parent), ", ", strconv.Quote(c), ")")
		return
	}
	if r.singleton != "" {
		// A singleton (AIP-156): the one key under the parent.
		w.P(prefix, ", ", w.err, " := ", w.id(svcserverPackage, "SingletonKey"), "(", w.get(in, parent), ", ", strconv.Quote(r.parentPattern), ", ", strconv.Quote(r.singleton), ")")
		return
	}
	if len(r.children) == 0 {
		w.P(prefix, ", ", w.err, " := ", w.id(svcserverPackage, "ChildKeyPrefix"), "(", w.get(in, parent), ", ", strconv.Quote(r.parentPattern), ", ", strconv.Quote(r.collection), ")")
		return
	}
	args := []any{prefix, ", ", w.err, " := ", w.id(svcaipPackage, "ChildKeyPrefix"), "(", strconv.Quote(string(parent.Desc.Name())), ", ", w.get(in, parent)}
	for _, c := range r.children {
		args = append(args, ", ", strconv.Quote(c))
	}
	w.P(append(args, ")")...)
}

// keyLabel names the key of a resource at path in the request, for errors.
func (w *methodWriter) keyLabel(path string) string {
	label := string(w.std.resource.key.Desc.Name())
	if path != "" {
		label = path + "." + label
	}
	return label
}

// checkNewName writes the pattern check of the key of msg, a resource
// about to be created (path: where it is in the request), when it is set:
// an empty one is assigned by the store.
func (w *methodWriter) checkNewName(msg, path, results string) {
	r := w.std.resource
	if len(r.patterns) == 0 {
		return
	}
	w.P("if ", w.get(msg, r.key), ` != "" {`)
	w.checkName(w.keyLabel(path), w.get(msg, r.key), results)
	w.P("}")
}

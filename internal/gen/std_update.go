package gen

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// updateShape serves UpdateX in three forms: the resource in a field with an
// optional update_mask (AIP-134); the key with fields of the resource, set
// when populated (optional fields: when present); the key with a message of
// such fields (ProductUpdate), where a bool update_x says whether to set x.
// Answered with the resource or a message wrapping it.
type updateShape struct{}

func (updateShape) recognise(c *methodContext) (*standardMethod, string) {
	if c.kind != unary {
		return nil, fmt.Sprintf("an Update method is unary, and this is %s", c.kind)
	}
	in := c.m.Input
	r, out, notes := c.resultOf(c.answer)
	if r == nil {
		return nil, c.noResult(c.answer)
	}
	s := &standardMethod{resource: r, out: out, notes: notes}
	if in.Desc.FullName() == r.msg.Desc.FullName() {
		// Bigtable's UpdateInstance(Instance), IAM's
		// UpdateServiceAccount(ServiceAccount): no mask can say which fields
		// to change, so the populated ones are (AIP-134 without a mask).
		s.whole = true
		s.summary = fmt.Sprintf("updates the %s the request is: the fields it populates (AIP-134)", r.msg.Desc.Name())
		s.notes = append(s.notes, fmt.Sprintf("the request is the %s itself, named by its %s; no field can be cleared, as nothing says which to write but their being populated", r.msg.Desc.Name(), r.key.Desc.Name()))
		return s, ""
	}
	for _, f := range in.Fields {
		if isSingularMessage(f) && f.Message.Desc.FullName() == r.msg.Desc.FullName() {
			if s.body != nil {
				return nil, fmt.Sprintf("%s has two %s fields", in.Desc.Name(), r.msg.Desc.Name())
			}
			s.body = f
		}
	}
	s.key = requestKey(in, r)
	if s.key != nil && s.key.Desc.Kind() != r.key.Desc.Kind() {
		return nil, fmt.Sprintf("%s.%s is %s and %s's key %s is %s", in.Desc.Name(), s.key.Desc.Name(), s.key.Desc.Kind(), r.msg.Desc.Name(), r.key.Desc.Name(), r.key.Desc.Kind())
	}
	if s.body != nil {
		if m := field(in, "update_mask"); m != nil && isMessage(m.Message, "google.protobuf.FieldMask") && !m.Desc.IsList() {
			s.mask = m
		}
		if v := validateOnlyOf(in); v != nil && keyKindOf(r.key) == keyString {
			s.validateOnly = v
			s.notes = append(s.notes, validateOnlyNote(v, "the "+string(r.msg.Desc.Name())+" as the update would leave it (but its etag and update time)", "nothing is stored"))
		}
		if a := allowMissingOf(in); a != nil {
			s.allowMissing = a
			s.notes = append(s.notes, fmt.Sprintf("%s (AIP-134): a %s that does not exist is created from the request, as a Create would (its REQUIRED fields set, its OUTPUT_ONLY ones cleared), whatever %s says", a.Desc.Name(), r.msg.Desc.Name(), maskName(s.mask)))
		}
		s.refuse(in, rest(in, s.body, s.mask, s.key, s.validateOnly, s.allowMissing))
		s.summary = fmt.Sprintf("updates the %s in %s.%s", r.msg.Desc.Name(), in.Desc.Name(), s.body.Desc.Name())
		if s.mask != nil {
			s.summary += fmt.Sprintf(": the fields %s names, or, without one, the fields the request populates (AIP-134)", s.mask.Desc.Name())
		} else {
			s.summary += ": the fields the request populates (AIP-134)"
		}
		if s.key != nil {
			s.notes = append(s.notes, fmt.Sprintf("%s.%s, when set, names the %s to update", in.Desc.Name(), s.key.Desc.Name(), r.msg.Desc.Name()))
		}
		return s, ""
	}
	if s.key == nil {
		return nil, fmt.Sprintf("%s has no %s field and no %s key field", in.Desc.Name(), r.msg.Desc.Name(), r.key.Desc.Name())
	}
	if !isOpen(in) || !isOpen(r.msg) {
		return nil, fmt.Sprintf("%s has no %s field, and setting fields one by one needs the open Go API", in.Desc.Name(), r.msg.Desc.Name())
	}
	// The key and a message of fields to set, or the key and the fields.
	var refused []*protogen.Field
	for _, f := range rest(in, s.key) {
		if isSingularMessage(f) && f.Message != r.msg && field(r.msg, string(f.Desc.Name())) == nil && s.nested == nil {
			if sets, why := setsFrom(f.Message, r); sets != nil {
				s.nested, s.sets = f, sets
				continue
			} else if why != "" {
				return nil, why
			}
		}
		refused = append(refused, f)
	}
	if s.nested == nil {
		sets, _ := setsFrom(in, r, s.key)
		if sets == nil {
			return nil, fmt.Sprintf("no field of %s but its key has the name and type of a field of %s", in.Desc.Name(), r.msg.Desc.Name())
		}
		s.sets, refused = sets, nil
		for _, f := range rest(in, s.key) {
			if !mapped(sets, f) {
				refused = append(refused, f)
			}
		}
	}
	s.refuse(in, refused)
	var names []string
	for _, m := range s.sets {
		names = append(names, string(m.path[0].Desc.Name()))
	}
	from := in.Desc.Name()
	if s.nested != nil {
		from = protoreflect.Name(string(in.Desc.Name()) + "." + string(s.nested.Desc.Name()))
	}
	s.summary = fmt.Sprintf("updates the %s whose %s is the request's %s: of %s, the fields %s sets", r.msg.Desc.Name(), r.key.Desc.Name(), s.key.Desc.Name(), strings.Join(names, ", "), from)
	for _, m := range s.sets {
		if m.flag != nil {
			s.notes = append(s.notes, fmt.Sprintf("%s is set when %s is true, even to its zero value (a guess from the names)", m.req.Desc.Name(), m.flag.Desc.Name()))
			s.warnings = append(s.warnings, fmt.Sprintf("%s.%s says whether to set %s (a guess from the names)", from, m.flag.Desc.Name(), m.req.Desc.Name()))
		}
	}
	s.notes = append(s.notes, "a field with presence is set when present; one without, when not its zero value")
	return s, ""
}

// maskName names the update mask in notes.
func maskName(mask *protogen.Field) string {
	if mask == nil {
		return "the request populates"
	}
	return string(mask.Desc.Name())
}

func mapped(sets []fieldMapping, f *protogen.Field) bool {
	for _, m := range sets {
		if m.req == f || m.flag == f {
			return true
		}
	}
	return false
}

// setsFrom maps the fields of msg (but skip) onto the resource fields of the
// same name and type; a bool update_x field becomes the flag of x. It
// returns nil when nothing maps, and, for a message of fields (skip empty),
// why a field that maps onto nothing makes it unusable.
func setsFrom(msg *protogen.Message, r *resourceModel, skip ...*protogen.Field) ([]fieldMapping, string) {
	var sets []fieldMapping
	var flags, unmapped []*protogen.Field
	for _, f := range rest(msg, skip...) {
		res := field(r.msg, string(f.Desc.Name()))
		switch {
		case res != nil && res != r.key && res != r.etag && res != r.createTime && res != r.updateTime && sameGoType(f, res, false) && !isDeprecated(f) && !hasBehaviour(res, annotations.FieldBehavior_OUTPUT_ONLY):
			// (A deprecated field names the old way of addressing the
			// resource, GKE's zone beside name, never a change to it; nor
			// does a field the resource has as OUTPUT_ONLY.)
			sets = append(sets, fieldMapping{req: f, path: []*protogen.Field{res}})
		case strings.HasPrefix(string(f.Desc.Name()), "update_") && isPlain(f, protoreflect.BoolKind):
			flags = append(flags, f)
		default:
			unmapped = append(unmapped, f)
		}
	}
	for _, flag := range flags {
		target := strings.TrimPrefix(string(flag.Desc.Name()), "update_")
		found := false
		for i := range sets {
			if string(sets[i].req.Desc.Name()) == target {
				sets[i].flag, found = flag, true
			}
		}
		if !found {
			unmapped = append(unmapped, flag)
		}
	}
	if len(sets) == 0 {
		return nil, ""
	}
	if len(skip) == 0 && len(unmapped) > 0 {
		return nil, fmt.Sprintf("%s.%s has the name and type of no field of %s", msg.Desc.Name(), unmapped[0].Desc.Name(), r.msg.Desc.Name())
	}
	return sets, ""
}

func (updateShape) emit(w *methodWriter) {
	s, r := w.std, w.std.resource
	if s.whole {
		msg := w.req
		if w.needsPrepare() {
			msg = w.v.of("msg")
			w.P("// The request stays as the caller made it.")
			w.P(msg, " := ", w.id(protoPackage, "CloneOf"), "(", w.req, ")")
		}
		w.checkName(string(r.key.Desc.Name()), w.get(msg, r.key), "nil, ")
		if w.needsPrepare() {
			w.prepareUpdate(msg, "nil", "")
		}
		w.respond(w.repo + ".Update(" + w.ctx + ", " + msg + ", nil)")
		return
	}
	w.refuseUnsupported(w.req, "nil, ")
	w.checkRequired(w.mm.m.Input, w.req, "nil, ")
	msg := w.v.of("msg")
	prepare := w.needsPrepare()
	if s.body != nil {
		mask := "nil"
		if s.mask != nil {
			mask = w.get(w.req, s.mask)
		}
		w.P(msg, " := ", w.get(w.req, s.body))
		w.P("if ", msg, " == nil {")
		w.P("return nil, ", w.id(statusPackage, "Error"), "(", w.id(codesPackage, "InvalidArgument"), ", ", strconv.Quote(string(w.mm.m.Input.Desc.Name())+"."+string(s.body.Desc.Name())+" is required"), ")")
		w.P("}")
		if prepare {
			w.P("// The request stays as the caller made it.")
			w.P(msg, " = ", w.id(protoPackage, "CloneOf"), "(", msg, ")")
		}
		if s.key != nil {
			w.P("if ", w.isSet(w.req, s.key), " {")
			if prepare {
				w.P("// The request's ", s.key.Desc.Name(), " names the resource.")
			} else {
				w.P("// The request's ", s.key.Desc.Name(), " names the resource; the request stays as the caller made it.")
				w.P(msg, " = ", w.id(protoPackage, "CloneOf"), "(", msg, ")")
			}
			w.P(w.a.set(msg, r.msg, r.key, w.get(w.req, s.key)))
			w.P("}")
		}
		w.checkName(string(s.body.Desc.Name())+"."+string(r.key.Desc.Name()), w.get(msg, r.key), "nil, ")
		if prepare {
			w.prepareUpdate(msg, mask, string(s.body.Desc.Name()))
		} else if s.allowMissing != nil {
			w.allowMissingCreate(msg, string(s.body.Desc.Name()))
		}
		if s.validateOnly != nil {
			cur, res := w.v.of("cur"), w.v.of("res")
			key := w.keyText(w.get(msg, r.key), r.key)
			w.P("if ", w.get(w.req, s.validateOnly), " {")
			w.P("// AIP-163: every check, and nothing stored.")
			if !prepare {
				w.P(cur, ", ", w.err, " := ", w.repo, ".Get(", w.freshCtx(), ", ", key, ")")
				w.onError("nil, ")
			}
			if r.etag != nil {
				w.P("if ", w.err, " := ", w.id(svcaipPackage, "CheckEtag"), "(", cur, ", ", key, ", ", w.get(cur, r.etag), ", ", w.get(msg, r.etag), "); ", w.err, " != nil {")
				w.P("return nil, ", w.err)
				w.P("}")
			}
			w.P(res, ", ", w.err, " := ", w.id(svcaipPackage, "Preview"), "(", cur, ", ", msg, ", ", mask, ")")
			w.onError("nil, ")
			w.respondValue(res)
			w.P("}")
		}
		w.respond(w.repo + ".Update(" + w.ctx + ", " + msg + ", " + mask + ")")
		return
	}
	w.checkName(string(s.key.Desc.Name()), w.get(w.req, s.key), "nil, ")
	paths := w.v.of("paths")
	w.P(msg, " := ", w.a.newMessage(r.msg, r.key.GoName, w.get(w.req, s.key)))
	w.P("var ", paths, " []string")
	from := w.req
	if s.nested != nil {
		from = w.v.of("u")
		w.P("if ", from, " := ", w.get(w.req, s.nested), "; ", from, " != nil {")
	}
	for _, m := range s.sets {
		cond := w.isSet(from, m.req)
		if m.flag != nil {
			cond = w.get(from, m.flag)
		}
		w.P("if ", cond, " {")
		w.P(w.a.set(msg, r.msg, m.path[0], w.valueOf(from, m.req, m.path[0])))
		w.P(paths, " = append(", paths, ", ", strconv.Quote(string(m.path[0].Desc.Name())), ")")
		w.P("}")
	}
	if s.nested != nil {
		w.P("}")
	}
	w.P("if len(", paths, ") == 0 {")
	w.P("// Nothing to set: answer the resource as it is.")
	w.respond(w.repo + ".Get(" + w.freshCtx() + ", " + w.requestKey() + ")")
	w.P("}")
	mask := "&" + w.id(fieldmaskPackage, "FieldMask") + "{Paths: " + paths + "}"
	if prepare {
		m := w.v.of("mask")
		w.P(m, " := ", mask)
		mask = m
		w.prepareUpdate(msg, mask, "")
	}
	w.respond(w.repo + ".Update(" + w.ctx + ", " + msg + ", " + mask + ")")
}

// allowMissingCreate writes the AIP-134 branch of an Update with
// allow_missing: a resource that does not exist is created from msg (path:
// where it is in the request), its update_mask ignored.
func (w *methodWriter) allowMissingCreate(msg, path string) {
	s, r := w.std, w.std.resource
	w.P("if ", w.get(w.req, s.allowMissing), " {")
	w.P("if _, ", w.err, " := ", w.repo, ".Get(", w.freshCtx(), ", ", w.keyText(w.get(msg, r.key), r.key), "); ", w.id(statusPackage, "Code"), "(", w.err, ") == ", w.id(codesPackage, "NotFound"), " {")
	w.createMissing(msg, path)
	w.P("}")
	w.P("}")
}

// createMissing writes the creation of msg, the resource of an Update with
// allow_missing that does not exist (AIP-134).
func (w *methodWriter) createMissing(msg, path string) {
	s, r := w.std, w.std.resource
	w.P("// AIP-134: a missing resource is created, as a Create would; the update mask is ignored.")
	if w.needsPrepare() {
		w.P("if ", w.err, " := ", w.id(svcaipPackage, "PrepareCreateNamed"), "(", msg, ", ", strconv.Quote(path), ", ", strconv.Quote(string(r.key.Desc.Name())), "); ", w.err, " != nil {")
		w.P("return nil, ", w.err)
		w.P("}")
	}
	if s.validateOnly != nil {
		w.P("if ", w.get(w.req, s.validateOnly), " {")
		w.respondValue(msg)
		w.P("}")
	}
	w.respond(w.repo + ".Create(" + w.ctx + ", " + msg + ")")
}

// prepareUpdate writes the field behaviour checks of an Update of msg
// under mask (path: where msg is in the request) against the stored
// resource.
func (w *methodWriter) prepareUpdate(msg, mask, path string) {
	r := w.std.resource
	cur := w.v.of("cur")
	w.P("// Field behaviour (AIP-203) is checked against the stored resource.")
	w.P(cur, ", ", w.err, " := ", w.repo, ".Get(", w.freshCtx(), ", ", w.keyText(w.get(msg, r.key), r.key), ")")
	if a := w.std.allowMissing; a != nil && path != "" {
		w.P("if ", w.id(statusPackage, "Code"), "(", w.err, ") == ", w.id(codesPackage, "NotFound"), " && ", w.get(w.req, a), " {")
		w.createMissing(msg, path)
		w.P("}")
	}
	w.onError("nil, ")
	w.P("if ", w.err, " := ", w.id(svcaipPackage, "PrepareUpdate"), "(", cur, ", ", msg, ", ", mask, ", ", strconv.Quote(path), "); ", w.err, " != nil {")
	w.P("return nil, ", w.err)
	w.P("}")
}

// freshCtx is the context of a read that decides a write (field behaviour
// against the stored resource, allow_missing, validate_only's preview): it
// must see the latest committed state, not a lagging read replica's
// (svcstore.ReadFresh).
func (w *methodWriter) freshCtx() string {
	return w.id(svcstorePackage, "ReadFresh") + "(" + w.ctx + ")"
}

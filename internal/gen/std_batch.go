package gen

import (
	"fmt"
	"strconv"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The unary batch methods of AIP-231 (BatchGetXs), AIP-233 (BatchCreateXs),
// AIP-234 (BatchUpdateXs) and AIP-235 (BatchDeleteXs). The request holds
// the elements, keys (names) or single-method requests (requests), and an
// optional parent every element must be under; the answer is the
// resources in the order of the request (Empty for a delete). Each element
// is served as the single method would serve it: a request element is
// recognised by the single method's shape and its body written by that
// shape, in a function literal per element; an error names the element
// (requests[2]: ...). The streaming BatchCreate is batchCreateShape's.

// batchShape serves the unary batch method of one verb; single is the shape
// of the method one element is.
type batchShape struct{ single shape }

// batchPlan is how a batch method's elements are served.
type batchPlan struct {
	elems *protogen.Field // the repeated request field: keys or requests
	names bool            // elems holds keys, not requests
	// each is how one element request is served, by single, as if it were
	// the request of method; nil for keys.
	each   *standardMethod
	method *protogen.Method
	// asBody is, for a batch Create whose elements are the resources
	// themselves (Grafeas' BatchCreateOccurrencesRequest.occurrences), the
	// field of the service's single Create request that holds one
	// (CreateOccurrenceRequest.occurrence): each element is served as that
	// request holding it.
	asBody *protogen.Field
}

// batchVerb is the single verb of a batch shape, for explanations.
func (b batchShape) batchVerb() string {
	switch b.single.(type) {
	case getShape:
		return "Get"
	case createShape:
		return "Create"
	case updateShape:
		return "Update"
	}
	return "Delete"
}

func (b batchShape) recognise(c *methodContext) (*standardMethod, string) {
	verb := b.batchVerb()
	if c.kind != unary {
		return nil, fmt.Sprintf("a Batch%s method is unary (AIP-231..235), and this is %s", verb, c.kind)
	}
	in, outMsg := c.m.Input, c.answer
	s := &standardMethod{out: resultMapping{msg: outMsg}}
	var r *resourceModel
	if verb == "Delete" {
		if !isEmptyMessage(outMsg) {
			return nil, fmt.Sprintf("a BatchDelete answers an empty message (AIP-235), and %s is not empty", outMsg.Desc.Name())
		}
		s.out.empty = true
	} else {
		for _, f := range outMsg.Fields {
			if fr := c.resources.resource(f.Message); f.Desc.IsList() && fr != nil && c.nounAgrees(fr) && s.items == nil {
				s.items, r = f, fr
			}
		}
		if s.items == nil {
			// Each resource in a result of its own (Talent's JobResult,
			// beside a status left unset: all or nothing, every one is OK).
			s.items, s.itemWrap, r = c.wrappedItems(outMsg)
		}
		for _, f := range rest(outMsg, s.items) {
			s.notes = append(s.notes, fmt.Sprintf("%s.%s is left unset", outMsg.Desc.Name(), f.Desc.Name()))
		}
		if s.itemWrap != nil {
			for _, f := range rest(s.items.Message, s.itemWrap) {
				s.notes = append(s.notes, fmt.Sprintf("%s.%s is left unset", s.items.Message.Desc.Name(), f.Desc.Name()))
			}
		}
		if r == nil {
			return nil, fmt.Sprintf("%s has no repeated field of the resource the method names (%q)", outMsg.Desc.Name(), c.noun)
		}
	}
	plan := &batchPlan{}
	// The elements: a repeated message field requests, or a repeated key
	// field (names, ids).
	if f := field(in, "requests"); f != nil && f.Desc.IsList() && f.Message != nil {
		plan.elems = f
	} else if f, body := c.resourceElements(in, r); verb == "Create" && f != nil {
		plan.elems, plan.asBody = f, body
	} else {
		if r == nil {
			r = c.batchDeleteResource(in)
		}
		if r == nil {
			return nil, fmt.Sprintf("no resource of this service is named by the method (%q) or referenced by %s", c.noun, in.Desc.Name())
		}
		plan.elems, plan.names = keysField(in, r), true
		if plan.elems != nil && verb == "Delete" && r.deletion != nil {
			return nil, fmt.Sprintf("%s is deleted softly (AIP-164, its %s), which a batch of keys is not served as; a batch of Delete requests is", r.msg.Desc.Name(), r.deletion.field.Desc.Name())
		}
		if plan.elems == nil || verb == "Create" || verb == "Update" {
			return nil, fmt.Sprintf("%s has no repeated field requests of %s requests, nor (for a Get or Delete) a repeated field of %s keys", in.Desc.Name(), verb, r.msg.Desc.Name())
		}
	}
	if !plan.names {
		answer := outMsg
		if r != nil {
			answer = r.msg
		}
		input := plan.elems.Message
		if plan.asBody != nil {
			input = plan.asBody.Parent
		}
		plan.method = &protogen.Method{Desc: c.m.Desc, GoName: c.m.GoName, Parent: c.m.Parent, Input: input, Output: answer}
		sub := *c
		sub.m, sub.answer, sub.lro = plan.method, answer, nil
		if r != nil {
			// One element is about one resource: its noun is singular
			// (CreateMemo, whose new names go under parent/memos).
			sub.noun = string(r.msg.Desc.Name())
		}
		each, why := b.single.recognise(&sub)
		if each == nil {
			return nil, fmt.Sprintf("its %s.%s are not %s requests that could be served: %s", in.Desc.Name(), plan.elems.Desc.Name(), verb, why)
		}
		if r != nil && each.resource != r {
			return nil, fmt.Sprintf("its %s.%s are requests about %s, and it answers %s", in.Desc.Name(), plan.elems.Desc.Name(), each.resource.msg.Desc.Name(), r.msg.Desc.Name())
		}
		r = each.resource
		each.shape = b.single
		if verb == "Create" {
			// One CreateBatch stores the whole batch: each element only
			// becomes a resource; validate_only asks for nothing stored of one
			// element, which a batch stored all or nothing cannot do.
			if v := each.input.validateOnly; v != nil {
				each.validateOnly = nil
				each.refuse(plan.elems.Message, []*protogen.Field{v})
			}
		}
		if each.force != nil {
			// The children of each deleted resource are another batch.
			each.refuse(plan.elems.Message, []*protogen.Field{each.force})
			each.force = nil
		}
		each.notes = append(each.notes, aipNotes(each, plan.elems.Message)...)
		plan.each = each
	}
	s.resource, s.batch, s.shape = r, plan, b
	used := []*protogen.Field{plan.elems}
	if p := field(in, "parent"); p != nil && isPlain(p, protoreflect.StringKind) && keyKindOf(r.key) == keyString {
		ok := r.hasParent()
		switch verb {
		case "Create":
			// Each request's parent, which the batch's fills in.
			ok = plan.each.input.parent != nil
		case "Get", "Delete":
			ok = ok || keyedByName(r)
		}
		if ok {
			s.parent = p
			used = append(used, p)
		}
	}
	s.refuse(in, rest(in, used...))
	s.summary = b.summary(c, s)
	if plan.each != nil {
		for _, n := range plan.each.notes {
			s.notes = append(s.notes, fmt.Sprintf("each of %s: %s", plan.elems.Desc.Name(), n))
		}
		s.warnings = append(s.warnings, plan.each.warnings...)
	}
	return s, ""
}

// resourceElements finds, for a batch Create of r without requests, the
// repeated field of in holding r itself, and the field holding one r in
// the request of the service's Create<r> (AIP-133's body); or nils.
func (c *methodContext) resourceElements(in *protogen.Message, r *resourceModel) (elems, body *protogen.Field) {
	if r == nil {
		return nil, nil
	}
	for _, f := range in.Fields {
		if f.Desc.IsList() && !f.Desc.IsMap() && f.Message == r.msg {
			elems = f
		}
	}
	if elems == nil {
		return nil, nil
	}
	for _, m := range c.svc.Methods {
		if string(m.Desc.Name()) != "Create"+string(r.msg.Desc.Name()) || !isOpen(m.Input) {
			continue
		}
		for _, f := range m.Input.Fields {
			if isSingularMessage(f) && f.Message == r.msg {
				return elems, f
			}
		}
	}
	return nil, nil
}

// summary says what a batch method does.
func (b batchShape) summary(c *methodContext, s *standardMethod) string {
	r, plan := s.resource, s.batch
	elems := string(plan.elems.Desc.Name())
	what := fmt.Sprintf("each %s request of %s, as %s%s would", b.batchVerb(), elems, b.batchVerb(), r.msg.Desc.Name())
	switch {
	case plan.asBody != nil:
		what = fmt.Sprintf("each of %s, as Create%s would from a %s holding it as %s", elems, r.msg.Desc.Name(), plan.asBody.Parent.Desc.Name(), plan.asBody.Desc.Name())
	case plan.names:
		what = fmt.Sprintf("every %s whose %s is one of the request's %s", r.msg.Desc.Name(), r.key.Desc.Name(), elems)
	}
	parent := ""
	if s.parent != nil {
		parent = fmt.Sprintf("; when %s is set, every %s must be under it (InvalidArgument)", s.parent.Desc.Name(), r.key.Desc.Name())
	}
	switch b.single.(type) {
	case getShape:
		return fmt.Sprintf("reads %s (AIP-231), all or nothing: the answer holds them in the order of the request, and one that does not exist is NotFound naming it%s", what, parent)
	case createShape:
		p := parent
		if s.parent != nil {
			p = fmt.Sprintf("; %s, when set, is the parent of each request that leaves its own empty, and one that sets another is InvalidArgument", s.parent.Desc.Name())
		}
		return fmt.Sprintf("creates %s %s from %s (AIP-233), all or nothing: every request is checked and becomes a resource, then one CreateBatch stores them all or none (a key used twice is AlreadyExists); the answer holds them in the order of the request%s", article(string(r.msg.Desc.Name())), r.msg.Desc.Name(), what, p)
	case updateShape:
		return fmt.Sprintf("carries out %s (AIP-234), in order; NOT atomic, as the repository has no transaction across resources: the first failure answers its error (naming the request) and stops the batch, and the updates before it stay applied; the answer holds the resources in the order of the request%s", what, parent)
	}
	if plan.names {
		return fmt.Sprintf("deletes %s (AIP-235): first every %s is checked and read, so a malformed or missing one fails the batch (naming it) before anything is deleted, then each is deleted in order; NOT atomic, as the repository has no transaction across resources: a concurrent change or a store failure after the checks leaves the deletes before it done%s", what, r.key.Desc.Name(), parent)
	}
	return fmt.Sprintf("carries out %s (AIP-235), in order; NOT atomic, as the repository has no transaction across resources: the first failure answers its error (naming the request) and stops the batch, and the deletes before it stay done%s", what, parent)
}

// batchDeleteResource is the resource a BatchDelete of keys is about: the
// type of its keys' or its parent's google.api.resource_reference, its
// noun's, or the service's.
func (c *methodContext) batchDeleteResource(in *protogen.Message) *resourceModel {
	for _, f := range in.Fields {
		ref, _ := extension[*annotations.ResourceReference](f.Desc.Options(), annotations.E_ResourceReference)
		if !f.Desc.IsList() || ref.GetType() == "" {
			continue
		}
		for _, m := range c.scope.typed(ref.GetType()) {
			if r := c.resources.resource(m); r != nil && c.nounAgrees(r) {
				return r
			}
		}
	}
	if r := c.referenced(in); r != nil && c.nounAgrees(r) {
		return r
	}
	if r := c.resourceNamed(c.noun); r != nil {
		return r
	}
	if c.noun == "" {
		return c.serviceResource()
	}
	return nil
}

// keysField returns the repeated request field holding keys of r: names
// (for a name key), or the plural of r's key (ids), or <resource>_ids, or
// <resource>_names.
func keysField(in *protogen.Message, r *resourceModel) *protogen.Field {
	names := []string{string(r.key.Desc.Name()) + "s"}
	switch r.key.Desc.Name() {
	case "id":
		names = append(names, snake(string(r.msg.Desc.Name()))+"_ids")
	case "name":
		// Dialogflow's BatchDeleteEntityTypesRequest.entity_type_names.
		names = append(names, snake(string(r.msg.Desc.Name()))+"_names")
	}
	for _, n := range names {
		if f := field(in, n); f != nil && f.Desc.IsList() && !f.Desc.IsMap() && f.Desc.Kind() == r.key.Desc.Kind() && f.Message == nil && f.Enum == nil {
			return f
		}
	}
	return nil
}

// elementWriter is a writer of the body of a function serving one element
// request req of the batch, as plan.each's shape serves its method.
func (w *methodWriter) elementWriter(plan *batchPlan, req string) *methodWriter {
	mm := &methodModel{m: plan.method, kind: unary, fullMethod: w.mm.fullMethod, std: plan.each}
	plan.each.parentResource = w.std.parentResource
	return &methodWriter{
		g: w.g, sm: w.sm, mm: mm, std: plan.each, a: w.a, v: w.v,
		recv: w.recv, ctx: w.ctx, req: req, stream: w.stream, err: w.err,
		repo: w.repo, callCtx: w.callCtx,
	}
}

// inParent writes the check that the name expr (labelled field) is under
// the batch's parent, read into the local parent ("": no parent).
func (w *methodWriter) inParent(parent, field, expr string) {
	if parent == "" {
		return
	}
	w.P("if ", w.err, " := ", w.id(svcserverPackage, "InParent"), "(", parent, ", ", strconv.Quote(field), ", ", expr, "); ", w.err, " != nil {")
	w.P("return nil, ", w.err)
	w.P("}")
}

func (b batchShape) emit(w *methodWriter) {
	s, r, plan := w.std, w.std.resource, w.std.batch
	w.refuseUnsupported(w.req, "nil, ")
	w.checkRequired(w.mm.m.Input, w.req, "nil, ")
	elems := string(plan.elems.Desc.Name())
	items := w.v.of("items")
	elem, i, res := w.v.of("e"), w.v.of("i"), w.v.of("res")
	outer := w.req
	// fn opens the function literal serving element elem, answering T.
	open := func(param, typ, answer string) {
		target := res
		if s.items == nil {
			target = "_"
		}
		w.P(target, ", ", w.err, " := func(", param, " ", typ, ") (", answer, ", error) {")
	}
	arg := elem
	if plan.asBody != nil {
		arg = w.a.newMessage(plan.asBody.Parent, plan.asBody.GoName, elem)
	}
	closeFn := func() {
		w.P("}(", arg, ")")
		w.P("if ", w.err, " != nil {")
		w.P("return nil, ", w.id(svcserverPackage, "BatchItemError"), "(", strconv.Quote(elems), ", ", i, ", ", w.err, ")")
		w.P("}")
	}
	resType := "*" + w.g.QualifiedGoIdent(r.msg.GoIdent)
	parent := ""
	if s.parent != nil {
		// Read before the function literals, whose parameter may shadow the request.
		parent = w.v.of("parent")
		w.P(parent, " := ", w.get(outer, s.parent))
	}
	if s.items != nil {
		w.P(items, " := make([]", resType, ", 0, len(", w.get(outer, plan.elems), "))")
	}
	if plan.names {
		key := w.v.of("key")
		check := func() {
			w.checkName(string(r.key.Desc.Name()), key, "nil, ")
			if keyKindOf(r.key) == keyString {
				w.inParent(parent, string(r.key.Desc.Name()), key)
			}
		}
		goType := goScalar(plan.elems)
		if s.out.empty {
			// AIP-235: every key is checked and read before any is deleted.
			w.P("for ", i, ", ", elem, " := range ", w.get(outer, plan.elems), " {")
			w.P("_, ", w.err, " := func(", key, " ", goType, ") (", resType, ", error) {")
			check()
			w.P("return ", w.repo, ".Get(", w.freshCtx(), ", ", w.keyText(key, plan.elems), ")")
			closeFn()
			w.P("}")
			w.P("for ", i, ", ", elem, " := range ", w.get(outer, plan.elems), " {")
			w.P("if _, ", w.err, " := ", w.repo, ".Delete(", w.ctx, ", ", w.keyText(elem, plan.elems), `, ""); `, w.err, " != nil {")
			w.P("return nil, ", w.id(svcserverPackage, "BatchItemError"), "(", strconv.Quote(elems), ", ", i, ", ", w.err, ")")
			w.P("}")
			w.P("}")
			w.respondDone(w.a.newMessage(s.out.msg))
			return
		}
		w.P("for ", i, ", ", elem, " := range ", w.get(outer, plan.elems), " {")
		open(key, goType, resType)
		check()
		w.P("return ", w.repo, ".Get(", w.ctx, ", ", w.keyText(key, plan.elems), ")")
		closeFn()
		w.P(items, " = append(", items, ", ", res, ")")
		w.P("}")
		w.P("return ", w.a.newMessage(s.out.msg, s.items.GoName, w.pageOf(items)), ", nil")
		return
	}
	each := plan.each
	elemType := "*" + w.g.QualifiedGoIdent(plan.method.Input.GoIdent)
	sub := w.elementWriter(plan, w.req)
	w.P("for ", i, ", ", elem, " := range ", w.get(outer, plan.elems), " {")
	switch b.single.(type) {
	case createShape:
		open(w.req, elemType, resType)
		if s.parent != nil {
			p, ep := parent, w.v.of("ep")
			w.P("if ", p, ` != "" {`)
			w.P("if ", ep, " := ", w.get(w.req, each.input.parent), "; ", ep, ` == "" {`)
			w.P("// The batch's parent is that of each request that leaves its own empty; the request stays as the caller made it.")
			w.P(w.req, " = ", w.id(protoPackage, "CloneOf"), "(", w.req, ")")
			w.P(w.a.set(w.req, plan.elems.Message, each.input.parent, p))
			w.P("} else if ", ep, " != ", p, " {")
			w.P("return nil, ", w.id(statusPackage, "Errorf"), "(", w.id(codesPackage, "InvalidArgument"), ", ", strconv.Quote(string(each.input.parent.Desc.Name())+" %q is not the batch's parent %q"), ", ", ep, ", ", p, ")")
			w.P("}")
			w.P("}")
		}
		sub.refuseUnsupported(w.req, "nil, ")
		msg := sub.emitInput(w.req, "nil, ")
		w.buf.WriteString(sub.buf.String())
		sub.buf.Reset()
		w.P("return ", msg, ", nil")
	default:
		answer := resType
		if s.out.empty {
			answer = "*" + w.g.QualifiedGoIdent(each.out.msg.GoIdent)
		}
		open(w.req, elemType, answer)
		if s.parent != nil {
			switch {
			case each.body != nil:
				w.inParent(parent, string(each.body.Desc.Name())+"."+string(r.key.Desc.Name()), w.get(w.get(w.req, each.body), r.key))
				if each.key != nil {
					w.inParent(parent, string(each.key.Desc.Name()), w.get(w.req, each.key))
				}
			case each.key != nil:
				w.inParent(parent, string(each.key.Desc.Name()), w.get(w.req, each.key))
			}
		}
		b.single.emit(sub)
		w.buf.WriteString(sub.buf.String())
		sub.buf.Reset()
	}
	closeFn()
	if s.items != nil {
		w.P(items, " = append(", items, ", ", res, ")")
	}
	w.P("}")
	switch b.single.(type) {
	case createShape:
		created := w.v.of("created")
		w.P(created, ", ", w.err, " := ", w.repo, ".CreateBatch(", w.ctx, ", ", items, ")")
		w.onError("nil, ")
		items = created
	case deleteShape:
		w.respondDone(w.a.newMessage(s.out.msg))
		return
	}
	w.respondDone(w.a.newMessage(s.out.msg, s.items.GoName, w.pageOf(items)))
}

// goScalar is the Go type of a scalar field's values.
func goScalar(f *protogen.Field) string {
	switch f.Desc.Kind() {
	case protoreflect.StringKind:
		return "string"
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return "int32"
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return "int64"
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return "uint32"
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "uint64"
	}
	return "string"
}

// keyedByName reports whether r's key is a resource name, checked by
// patterns or not (Service Usage's Service,
// "projects/123/services/pubsub.googleapis.com"; Security Command Center's
// singleton Settings): a Get or Delete batch's parent is then the leading
// segments every name must have (svcserver.InParent).
func keyedByName(r *resourceModel) bool {
	return r.key.Desc.Name() == "name" || len(r.patterns) > 0
}

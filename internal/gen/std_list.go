package gen

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// listShape serves ListXs: a unary page (page_size, page_token →
// next_page_token), a unary answer with every resource (no page fields), or
// a server stream of resources or of messages wrapping one. A parent limits
// it to a child collection; request fields named like resource fields (or
// <field>_filter) filter by equality when set.
type listShape struct{}

func (listShape) recognise(c *methodContext) (*standardMethod, string) {
	in, outMsg := c.m.Input, c.m.Output
	s := &standardMethod{}
	switch c.kind {
	case serverStreaming:
		r, out, notes := c.resultOf(outMsg)
		if r == nil {
			return nil, "the streamed " + c.noResult(outMsg)
		}
		s.resource, s.out, s.notes = r, out, notes
	case unary:
		s.out = resultMapping{msg: outMsg}
		for _, f := range outMsg.Fields {
			if !f.Desc.IsList() || f.Message == nil {
				continue
			}
			if r := c.resources.resource(f.Message); r != nil && c.nounAgrees(r) {
				if s.items != nil {
					return nil, fmt.Sprintf("%s has two repeated resource fields: which one is the page?", outMsg.Desc.Name())
				}
				s.items, s.resource = f, r
			}
		}
		if s.items == nil {
			s.items, s.itemWrap, s.resource = c.wrappedItems(outMsg)
			if s.items != nil {
				for _, f := range rest(s.items.Message, s.itemWrap) {
					s.notes = append(s.notes, fmt.Sprintf("%s.%s is left unset", s.items.Message.Desc.Name(), f.Desc.Name()))
				}
			}
		}
		if s.items == nil {
			var why []string
			for _, f := range outMsg.Fields {
				if !f.Desc.IsList() || f.Message == nil {
					continue
				}
				if r, reason := c.resources.lookup(f.Message); r == nil {
					why = append(why, reason)
				} else {
					why = append(why, fmt.Sprintf("the noun %s does not name %s", c.noun, r.msg.Desc.Name()))
				}
			}
			if len(why) == 0 {
				return nil, fmt.Sprintf("%s has no repeated message field", outMsg.Desc.Name())
			}
			return nil, fmt.Sprintf("%s has no repeated field of a resource (%s)", outMsg.Desc.Name(), strings.Join(why, "; "))
		}
		if f := field(outMsg, "next_page_token"); f != nil && isPlain(f, protoreflect.StringKind) {
			s.nextToken = f
		}
		for _, f := range rest(outMsg, s.items, s.nextToken) {
			s.notes = append(s.notes, fmt.Sprintf("%s.%s is left unset", outMsg.Desc.Name(), f.Desc.Name()))
		}
	default:
		return nil, fmt.Sprintf("a List method is unary or a server stream, and this is %s", c.kind)
	}
	r := s.resource
	if f := field(in, "page_size"); f != nil && (isPlain(f, protoreflect.Int32Kind) || isPlain(f, protoreflect.Int64Kind)) {
		s.pageSize = f
	}
	// A page_token may share a oneof with another way to start a page
	// (ResultStore's offset), which is then refused when set.
	if f := field(in, "page_token"); f != nil && f.Desc.Kind() == protoreflect.StringKind && !f.Desc.IsList() {
		s.pageToken = f
	}
	if c.kind == unary && (s.pageToken == nil) != (s.nextToken == nil) {
		if s.pageToken != nil {
			return nil, fmt.Sprintf("%s has a page_token and %s no next_page_token to answer one in", in.Desc.Name(), outMsg.Desc.Name())
		}
		// No page_token to send a next_page_token back in (GKE v1beta1's
		// ListLocations): the answer is one page, and holds every resource.
		s.notes = append(s.notes, fmt.Sprintf("%s.%s is left empty: %s has no page_token to send it back in", outMsg.Desc.Name(), s.nextToken.Desc.Name(), in.Desc.Name()))
		s.nextToken = nil
	}
	if p := parentField(in, r, true); p != nil {
		switch coll, from := c.listCollection(r, s.items, outMsg); {
		case r.hasParent():
			s.parent = p
		case coll != "" && s.itemWrap == nil:
			// (A field of wrapped items names no collection.)
			s.parent, s.collection = p, coll
			note := collectionNote(r, p, coll, from)
			s.notes, s.warnings = append(s.notes, note), append(s.warnings, note)
		}
	}
	if note := parentNamedNote(in, s.parent); note != "" {
		s.notes = append(s.notes, note)
	}
	if r.parentPattern != "" && r.singleton == "" && s.parent == nil {
		return nil, fmt.Sprintf("%s names are nested (%s) and %s has no parent", r.msg.Desc.Name(), r.pattern, in.Desc.Name())
	}
	if s.parent != nil && len(r.children) > 0 {
		s.notes = append(s.notes, fmt.Sprintf("%s may be the parent of any pattern of %s (%s), and the answer holds only its own children; any other parent is InvalidArgument, and the wildcard - (AIP-159) Unimplemented", s.parent.Desc.Name(), r.msg.Desc.Name(), strings.Join(r.children, ", ")))
	}
	if f := field(in, "filter"); f != nil && isPlain(f, protoreflect.StringKind) {
		s.filter = f
		s.notes = append(s.notes, fmt.Sprintf("filter is an AIP-160 expression over the fields of %s (svcstore.Where); %s", r.msg.Desc.Name(), indexedNote(r)))
	}
	if f := field(in, "order_by"); f != nil && isPlain(f, protoreflect.StringKind) {
		s.orderBy = f
		s.notes = append(s.notes, fmt.Sprintf("order_by (AIP-132) sorts by %s (svcstore.OrderBy); anything else is InvalidArgument", sortableNote(r)))
	}
	if s.readMask = readMaskOf(in); s.readMask != nil {
		s.notes = append(s.notes, fmt.Sprintf("each %s answered has only the fields %s names (AIP-157)", r.msg.Desc.Name(), s.readMask.Desc.Name()))
	}
	if s.view = viewOf(in); s.view != nil {
		s.notes = append(s.notes, viewNote(s.view))
	}
	s.recogniseShowDeleted(in)
	var refused []*protogen.Field
	for _, f := range rest(in, s.pageSize, s.pageToken, s.parent, s.filter, s.orderBy, s.readMask, s.view, s.showDeleted) {
		path, guess := filterPath(f, r)
		if path == nil {
			refused = append(refused, f)
			continue
		}
		s.filters = append(s.filters, filterMapping{req: f, path: path})
		note := fmt.Sprintf("when set, %s keeps the %s resources whose %s equals it", f.Desc.Name(), r.msg.Desc.Name(), pathName(path))
		if guess {
			note += " (a guess from its name)"
			s.warnings = append(s.warnings, fmt.Sprintf("%s filters on %s.%s (a guess from its name)", f.Desc.Name(), r.msg.Desc.Name(), pathName(path)))
		}
		s.notes = append(s.notes, note)
	}
	s.refuse(in, refused)
	order := "in key order"
	if s.orderBy != nil {
		order = "in key order or by order_by"
	}
	switch {
	case c.kind == serverStreaming:
		s.summary = fmt.Sprintf("streams the %s resources, %s, page by page", r.msg.Desc.Name(), order)
	case s.nextToken != nil:
		s.summary = fmt.Sprintf("lists a page of %s resources %s", r.msg.Desc.Name(), order)
	default:
		s.summary = fmt.Sprintf("answers every %s resource %s, or codes.ResourceExhausted when they would exceed svcserver.MaxBatchBytes", r.msg.Desc.Name(), order)
	}
	if s.parent != nil {
		if forms := r.parentForms(); forms != "" {
			s.summary += fmt.Sprintf(" under the request's %s (%s)", s.parent.Desc.Name(), forms)
		} else {
			s.summary += fmt.Sprintf(" under the request's %s", s.parent.Desc.Name())
		}
	}
	return s, ""
}

// readMasks writes the view's and the read mask's application to the
// resources in the slice items, when the request has them.
func (w *methodWriter) readMasks(items string) {
	if w.std.view != nil {
		w.P(w.id(svcaipPackage, "ApplyViews"), "(", w.get(w.req, w.std.view), ", ", items, ")")
	}
	if w.std.readMask != nil {
		w.P(w.id(svcaipPackage, "ReadMasks"), "(", w.get(w.req, w.std.readMask), ", ", items, ")")
	}
}

// indexedNote says which filters an index serves, for doc comments.
func indexedNote(r *resourceModel) string {
	var single []string
	for _, ix := range r.indexes {
		if !strings.Contains(ix, ",") {
			single = append(single, ix)
		}
	}
	scan := "svcstore.DefaultMaxScan non-matching resources a page, and may end a page early with a next_page_token"
	if len(single) == 0 {
		return "no single field is indexed ((svc.v1.resource).index), so in key order a filter scans at most " + scan
	}
	return fmt.Sprintf("in key order an equality on %s is served from its index; other filters scan at most %s", strings.Join(single, " or "), scan)
}

// sortableNote lists the orderings a List accepts.
func sortableNote(r *resourceModel) string {
	out := []string{string(r.key.Desc.Name())}
	for _, ix := range r.indexes {
		out = append(out, strings.ReplaceAll(ix, ",", ", "))
	}
	return `"` + strings.Join(out, `", "`) + `" (or leading fields of an index), all ascending or all " desc"`
}

// filterPath returns the resource field a List request field filters on:
// the singular scalar field of the same name and type, or named by
// <field>_filter; or, guessed, the key of a message field (category_filter
// or category_id on Category category: category.id).
func filterPath(f *protogen.Field, r *resourceModel) ([]*protogen.Field, bool) {
	if f.Desc.IsList() || f.Desc.IsMap() || f.Message != nil {
		return nil, false
	}
	name := string(f.Desc.Name())
	for _, n := range []string{name, trimSuffix(name, "_filter")} {
		if res := field(r.msg, n); n != "" && res != nil && res != r.key && res.Message == nil && sameGoType(f, res, false) {
			return []*protogen.Field{res}, false
		}
	}
	for _, suffix := range []string{"_filter", "_id"} {
		if path := keyPathOf(f, r, suffix); path != nil {
			return path, true
		}
	}
	return nil, false
}

// trimSuffix returns s without suffix, or "" when s does not end with it.
func trimSuffix(s, suffix string) string {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)]
	}
	return ""
}

// wrappedItems finds, in a List's response, the repeated field whose
// messages each hold one resource the noun names in a singular field
// (ListFindingsResponse.list_findings_results, each a ListFindingsResult
// holding a finding beside its state_change): the page, the field of each
// item holding the resource, and the resource; or nils.
func (c *methodContext) wrappedItems(out *protogen.Message) (items, wrap *protogen.Field, r *resourceModel) {
	for _, f := range out.Fields {
		if !f.Desc.IsList() || f.Message == nil || !isOpen(f.Message) {
			continue
		}
		var holds *protogen.Field
		var held *resourceModel
		for _, g := range f.Message.Fields {
			if !isSingularMessage(g) {
				continue
			}
			if gr := c.resources.resource(g.Message); gr != nil && c.nounAgrees(gr) {
				if holds != nil {
					holds = nil
					break
				}
				holds, held = g, gr
			}
		}
		if holds != nil {
			if items != nil {
				return nil, nil, nil
			}
			items, wrap, r = f, holds, held
		}
	}
	return items, wrap, r
}

// pageOf is the Go expression of a List's page of resources as its
// response's repeated field holds them: items itself, or a slice of
// wrapping messages built from it.
func (w *methodWriter) pageOf(items string) string {
	s := w.std
	if s.itemWrap == nil {
		return items
	}
	page, item := w.v.of("page"), w.v.of("item")
	w.P(page, " := make([]*", w.g.QualifiedGoIdent(s.items.Message.GoIdent), ", 0, len(", items, "))")
	w.P("for _, ", item, " := range ", items, " {")
	w.P(page, " = append(", page, ", ", w.a.newMessage(s.items.Message, s.itemWrap.GoName, item), ")")
	w.P("}")
	return page
}

func (listShape) emit(w *methodWriter) {
	s := w.std
	results := w.errResults()
	w.refuseUnsupported(w.req, results)
	w.checkRequired(w.mm.m.Input, w.req, results)
	w.checkView(results)
	if s.readMask != nil {
		w.checkReadMask(results)
	}
	filters := ""
	if s.parent != nil || len(s.filters) > 0 || s.filter != nil || s.orderBy != nil || s.resource.deletion != nil {
		fv := w.v.of("filters")
		filters = ", " + fv + "..."
		w.P("var ", fv, " []", w.id(svcstorePackage, "Filter"))
		if s.parent != nil {
			prefix := w.v.of("prefix")
			w.childKeyPrefix(prefix, w.req, s.parent)
			w.onError(results)
			if s.parentResource != nil {
				parentRepo := w.recv + ".repos." + w.sm.repoField(s.parentResource)
				w.P("if ", parentRepo, " != nil {")
				w.P("// The parent must exist.")
				w.P("if _, ", w.err, " := ", parentRepo, ".Get(", w.callCtx, ", ", w.get(w.req, s.parent), "); ", w.err, " != nil {")
				w.P("return ", results, w.err)
				w.P("}")
				w.P("}")
			}
			w.P(fv, " = append(", fv, ", ", w.id(svcstorePackage, "KeyPrefix"), "(", prefix, "))")
		}
		for _, f := range s.filters {
			w.P("if ", w.isSet(w.req, f.req), " {")
			w.P(fv, " = append(", fv, ", ", w.id(svcstorePackage, "Equal"), "(", strconv.Quote(pathName(f.path)), ", ", w.get(w.req, f.req), "))")
			w.P("}")
		}
		for _, f := range []struct {
			req *protogen.Field
			fn  string
		}{{s.filter, "Where"}, {s.orderBy, "OrderBy"}} {
			if f.req == nil {
				continue
			}
			w.P("if ", w.get(w.req, f.req), ` != "" {`)
			w.P(fv, " = append(", fv, ", ", w.id(svcstorePackage, f.fn), "(", w.get(w.req, f.req), "))")
			w.P("}")
		}
		w.hideDeleted(fv)
	}
	pageSize := "0"
	if s.pageSize != nil {
		pageSize = "int(" + w.get(w.req, s.pageSize) + ")"
	}
	items, next := w.v.of("items"), w.v.of("next")
	switch {
	case w.mm.kind == unary && s.nextToken != nil:
		w.P(items, ", ", next, ", ", w.err, " := ", w.repo, ".List(", w.ctx, ", ", pageSize, ", ", w.get(w.req, s.pageToken), filters, ")")
		w.onError("nil, ")
		w.readMasks(items)
		w.P("return ", w.a.newMessage(s.out.msg, s.items.GoName, w.pageOf(items), s.nextToken.GoName, next), ", nil")
	case w.mm.kind == unary:
		all, budget, token, page, item := w.v.of("all"), w.v.of("budget"), w.v.of("token"), w.v.of("page"), w.v.of("item")
		w.P("var ", all, " []*", s.resource.msg.GoIdent)
		w.P("var ", budget, " ", w.id(svcserverPackage, "BatchBudget"))
		w.P(token, ` := ""`)
		w.P("for {")
		w.P(page, ", ", next, ", ", w.err, " := ", w.repo, ".List(", w.ctx, ", ", pageSize, ", ", token, filters, ")")
		w.onError("nil, ")
		w.P("for _, ", item, " := range ", page, " {")
		w.P("if ", w.err, " := ", budget, ".Add(", item, "); ", w.err, " != nil {")
		w.P("return nil, ", w.err)
		w.P("}")
		w.P("}")
		w.P(all, " = append(", all, ", ", page, "...)")
		w.P("if ", next, ` == "" {`)
		w.readMasks(all)
		w.P("return ", w.a.newMessage(s.out.msg, s.items.GoName, w.pageOf(all)), ", nil")
		w.P("}")
		w.P(token, " = ", next)
		w.P("}")
	default:
		token, item := w.v.of("token"), w.v.of("item")
		first := `""`
		if s.pageToken != nil {
			first = w.get(w.req, s.pageToken)
		}
		w.P(token, " := ", first)
		w.P("for {")
		w.P(items, ", ", next, ", ", w.err, " := ", w.repo, ".List(", w.callCtx, ", ", pageSize, ", ", token, filters, ")")
		w.onError("")
		w.readMasks(items)
		w.P("for _, ", item, " := range ", items, " {")
		sent := item
		if s.out.wrap != nil {
			sent = w.a.newMessage(s.out.msg, s.out.wrap.GoName, item)
		}
		w.P("if ", w.err, " := ", w.stream, ".Send(", sent, "); ", w.err, " != nil {")
		w.P("return ", w.err)
		w.P("}")
		w.P("}")
		w.P("if ", next, ` == "" {`)
		w.P("return nil")
		w.P("}")
		w.P(token, " = ", next)
		w.P("}")
	}
}

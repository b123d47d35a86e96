package gen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
)

// AIP-135 force: a Delete whose request has a bool force deletes the
// resource's children first, when force is set, and refuses the Delete
// with FailedPrecondition while it has any, when not. The children it knows
// are the collections this service serves under one of the resource's
// patterns (books under shelves/*, or under either of a secret's
// projects/* and projects/*/locations/*); children kept elsewhere are not
// seen. A soft-deleted resource (AIP-164) keeps its children, so force is
// refused there when the service has any.

// childCollection is a collection of child resources under a parent's
// names: the Books of "shelves/*/books".
type childCollection struct {
	r          *resourceModel
	collection string
}

// childrenOf are the collections of the resources of rs directly under a
// name of parent, by pattern, in the order of rs; a singleton child is not
// a collection to delete.
func childrenOf(parent *resourceModel, rs []*resourceModel) []childCollection {
	under := map[string]bool{}
	if parent.pattern != "" {
		under[parent.pattern] = true
	}
	for _, p := range parent.patterns {
		under[starred(p)] = true
	}
	var found []childCollection
	for _, c := range rs {
		if c == parent || c.singleton != "" {
			continue
		}
		seen := map[string]bool{}
		add := func(parentPattern, collection string) {
			if under[parentPattern] && !seen[collection] {
				seen[collection] = true
				found = append(found, childCollection{c, collection})
			}
		}
		if c.parentPattern != "" {
			add(c.parentPattern, c.collection)
		}
		for _, p := range c.children {
			pp, collection := childParts(p)
			add(starred(pp), collection)
		}
	}
	return found
}

// linkChildren finds, for every Delete with force, the service's child
// collections of its resource, and says what force does.
func (sm *serviceModel) linkChildren() {
	for _, mm := range sm.methods {
		s := mm.std
		if s == nil || s.force == nil {
			continue
		}
		s.children = childrenOf(s.resource, sm.resources)
		r := s.resource.msg.Desc.Name()
		if len(s.children) == 0 {
			s.notes = append(s.notes, fmt.Sprintf("%s (AIP-135): this service keeps no children of a %s, so %s changes nothing", s.force.Desc.Name(), r, s.force.Desc.Name()))
			continue
		}
		if s.resource.deletion != nil {
			s.children = nil
			s.refuse(mm.m.Input, []*protogen.Field{s.force})
			s.force = nil
			continue
		}
		var names []string
		for _, c := range s.children {
			if !slices.Contains(names, c.collection) {
				names = append(names, c.collection)
			}
		}
		s.notes = append(s.notes, fmt.Sprintf("%s (AIP-135): deleting a %s that has %s in this service is FailedPrecondition unless %s is set, which deletes them first (not in one transaction with the %s)",
			s.force.Desc.Name(), r, strings.Join(names, " or "), s.force.Desc.Name(), r))
	}
}

// deleteChildren writes, for a Delete with force, the check or deletion of
// each child collection (svcaip.DeleteChildren).
func (w *methodWriter) deleteChildren() {
	s := w.std
	if s.force == nil || len(s.children) == 0 {
		return
	}
	// The resource must exist before its children are looked at: a Delete
	// of a missing one deletes nothing.
	cond := w.err + " != nil"
	if a := s.allowMissing; a != nil {
		cond += " && !(" + w.id(statusPackage, "Code") + "(" + w.err + ") == " + w.id(codesPackage, "NotFound") + " && " + w.get(w.req, a) + ")"
	}
	w.P("if _, ", w.err, " := ", w.repo, ".Get(", w.freshCtx(), ", ", w.requestKey(), "); ", cond, " {")
	w.P("return nil, ", w.err)
	w.P("}")
	for _, cc := range s.children {
		c, m := cc.r, w.v.of("m")
		key := "func(" + m + " *" + w.g.QualifiedGoIdent(c.msg.GoIdent) + ") string { return " + w.keyText(w.get(m, c.key), c.key) + " }"
		w.P("if ", w.err, " := ", w.id(svcaipPackage, "DeleteChildren"), "(", w.ctx, ", ", w.recv, ".repos.", w.sm.repoField(c), ", ",
			w.requestKey(), ", ", strconv.Quote(cc.collection), ", ", w.get(w.req, s.force), ", ", key, "); ", w.err, " != nil {")
		w.P("return nil, ", w.err)
		w.P("}")
	}
}

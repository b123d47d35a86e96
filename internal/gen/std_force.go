package gen

import (
	"fmt"
	"strconv"
	"strings"
)

// AIP-135 force: a Delete whose request has a bool force deletes the
// resource's children first, when force is set, and refuses the Delete
// with FailedPrecondition while it has any, when not. The children it knows
// are the collections this service serves under the resource's pattern
// (books under shelves/*); children kept elsewhere are not seen.

// linkChildren finds, for every Delete with force, the service's child
// collections of its resource, and says what force does.
func (sm *serviceModel) linkChildren() {
	for _, mm := range sm.methods {
		s := mm.std
		if s == nil || s.force == nil {
			continue
		}
		var names []string
		for _, c := range sm.resources {
			// (A singleton child is not a collection to delete.)
			if c != s.resource && c.parentPattern != "" && c.singleton == "" && c.parentPattern == s.resource.pattern {
				s.children = append(s.children, c)
				names = append(names, c.collection)
			}
		}
		r := s.resource.msg.Desc.Name()
		if len(s.children) == 0 {
			s.notes = append(s.notes, fmt.Sprintf("%s (AIP-135): this service keeps no children of a %s, so %s changes nothing", s.force.Desc.Name(), r, s.force.Desc.Name()))
			continue
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
	for _, c := range s.children {
		m := w.v.of("m")
		key := "func(" + m + " *" + w.g.QualifiedGoIdent(c.msg.GoIdent) + ") string { return " + w.keyText(w.get(m, c.key), c.key) + " }"
		w.P("if ", w.err, " := ", w.id(svcaipPackage, "DeleteChildren"), "(", w.ctx, ", ", w.recv, ".repos.", w.sm.repoField(c), ", ",
			w.requestKey(), ", ", strconv.Quote(c.collection), ", ", w.get(w.req, s.force), ", ", key, "); ", w.err, " != nil {")
		w.P("return nil, ", w.err)
		w.P("}")
	}
}

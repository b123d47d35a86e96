package gen

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The IAM policy methods of google.iam.v1 (GetIamPolicy, SetIamPolicy,
// TestIamPermissions) that many APIs declare on their own services are
// recognised by their request and response types, whatever their names
// (those with types of their own, Compute's, by std_iamshaped.go),
// and served by package svciam from a repository of policies in the
// skeleton's set, after checking the resource the request names against
// the resources the service serves (svciam.CheckResource).

const svciamPackage = protogen.GoImportPath("github.com/svcgen/protoc-gen-svc/svciam")

// iamMethods maps the request and response types of an IAM policy method
// to the svciam function serving it.
var iamMethods = map[[2]protoreflect.FullName]string{
	{"google.iam.v1.GetIamPolicyRequest", "google.iam.v1.Policy"}:                           "GetIamPolicy",
	{"google.iam.v1.SetIamPolicyRequest", "google.iam.v1.Policy"}:                           "SetIamPolicy",
	{"google.iam.v1.TestIamPermissionsRequest", "google.iam.v1.TestIamPermissionsResponse"}: "TestIamPermissions",
}

// iamMethod returns the svciam function serving m, or "".
func iamMethod(m *protogen.Method, kind rpcKind) string {
	if kind != unary {
		return ""
	}
	return iamMethods[[2]protoreflect.FullName{m.Input.Desc.FullName(), m.Output.Desc.FullName()}]
}

// iamSummary says what the svciam function does, for the doc comment and
// the explain report.
var iamSummary = map[string]string{
	"GetIamPolicy":       "answers the IAM policy of the resource (an empty Policy with an etag when it has none; options.requested_policy_version 0, 1 or 3, else InvalidArgument)",
	"SetIamPolicy":       "sets the IAM policy of the resource (the fields of update_mask, default bindings,etag; an etag other than the current one is Aborted; a new etag on every write)",
	"TestIamPermissions": "answers the requested permissions the caller holds on the resource, as the svciam.Authorizer of the context decides (none without one)",
}

// policiesField is the field of the repository set that keeps IAM
// policies.
func (sm *serviceModel) policiesField() string {
	return sm.freeField("Policies", "IAM")
}

// hasPolicies reports whether the service has an IAM policy method served
// from the repository of policies.
func (sm *serviceModel) hasPolicies() bool {
	for _, mm := range sm.methods {
		if mm.iam != "" {
			return true
		}
	}
	return false
}

func policiesRepository(g *protogen.GeneratedFile, sm *serviceModel) repositoryFieldView {
	return repositoryFieldView{
		Field:       sm.policiesField(),
		Type:        g.QualifiedGoIdent(svciamPackage.Ident("Policies")),
		NewInMemory: g.QualifiedGoIdent(svciamPackage.Ident("NewPolicies")) + "(opts...)",
	}
}

// iamOwners are the served resources named by patterns, whose names the
// resource of an IAM request must be.
func (sm *serviceModel) iamOwners() []*resourceModel {
	var out []*resourceModel
	for _, r := range sm.resources {
		if len(r.patterns) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// iamCheckNote says how the resource of an IAM request is checked.
func (sm *serviceModel) iamCheckNote() string {
	owners := sm.iamOwners()
	if len(owners) == 0 {
		return "resource is any non-empty name: the service serves no resource named by google.api.resource patterns to check it against"
	}
	var names []string
	for _, r := range owners {
		names = append(names, string(r.msg.Desc.Name())+" ("+strings.Join(r.patterns, ", ")+")")
	}
	return "resource must name a stored " + strings.Join(names, " or ") + ": NotFound when it does not exist, InvalidArgument when it matches no pattern"
}

// iamMethodOf is an IAM policy method served by svciam.
func iamMethodOf(g *protogen.GeneratedFile, home protogen.GoImportPath, sm *serviceModel, mm *methodModel) skeletonMethodView {
	m := mm.m
	v := newLocalNames(home, m.Input, m.Output)
	recv, ctx, req, err := v.of("s"), v.of("ctx"), v.of("req"), v.of("err")
	field := recv + ".repos." + sm.policiesField()
	var text, body string
	if s := mm.iamShape; s != nil {
		text = m.GoName + " " + s.summary() + ", from the " + sm.policiesField() + " repository. Without the repository it answers codes.Unimplemented. Override it to serve the method yourself.\n\nNotes:\n  - " + strings.Join(s.notes(), "\n  - ")
		body = s.body(g, m, &v, field, ctx, req, err)
	} else {
		text = m.GoName + " " + iamSummary[mm.iam] + ", from the " + sm.policiesField() + " repository (svciam." + mm.iam + ")." +
			" Without the repository it answers codes.Unimplemented. Override it to serve the method yourself.\n\nNotes:\n  - " + sm.iamCheckNote()
		var b strings.Builder
		b.WriteString("if " + err + " := " + g.QualifiedGoIdent(svciamPackage.Ident("CheckResource")) + "(" + ctx + ", " + req + ".GetResource()")
		for _, r := range sm.iamOwners() {
			b.WriteString(",\n" + g.QualifiedGoIdent(svciamPackage.Ident("In")) + "(" + recv + ".repos." + sm.repoField(r))
			for _, p := range r.patterns {
				b.WriteString(", " + strconv.Quote(p))
			}
			b.WriteString(")")
		}
		b.WriteString("); " + err + " != nil {\nreturn nil, " + err + "\n}\n")
		b.WriteString("return " + g.QualifiedGoIdent(svciamPackage.Ident(mm.iam)) + "(" + ctx + ", " + field + ", " + req + ")")
		body = b.String()
	}
	return skeletonMethodView{
		Doc:           docText(text, m.Comments.Leading, mm.deprecated),
		Receiver:      recv + " " + sm.names.Skeleton,
		Name:          m.GoName,
		Signature:     signature(g, mm, ctx, req, ""),
		Unimplemented: unimplementedResult(g, mm),
		Repository:    field,
		Body:          body,
	}
}

// iamExplainLine is the explain report's line of an IAM policy method.
func (mm *methodModel) iamExplainLine(sm *serviceModel) string {
	if s := mm.iamShape; s != nil {
		return "served from " + sm.policiesField() + ": " + s.summary() + " [" + strings.Join(s.notes(), "; ") + "]"
	}
	return "served from " + sm.policiesField() + ": " + iamSummary[mm.iam] + " [svciam." + mm.iam + "; " + sm.iamCheckNote() + "]"
}

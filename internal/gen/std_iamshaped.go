package gen

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// IAM policy methods with types of their own, as Compute Engine declares
// them: GetIamPolicy(GetIamPolicyInstanceRequest{project, zone, resource,
// options_requested_policy_version}) answering a compute.v1.Policy (the
// fields of google.iam.v1.Policy, with a string etag);
// SetIamPolicy(SetIamPolicyInstanceRequest{project, zone, resource,
// zone_set_policy_request_resource{policy}}); TestIamPermissions(
// TestIamPermissionsInstanceRequest{..., test_permissions_request_resource{
// permissions}}) answering {permissions}. They are recognised by their
// names and shapes, and served by svciam from the same repository of
// policies as google.iam.v1's, the resource named by the request's fields
// (projects/{project}/zones/{zone}/instances/{resource}, the collection
// from the service's name).

// shapedIAM is how a policy method of its own types is served.
type shapedIAM struct {
	fn         string            // the svciam function of google.iam.v1 it does as: GetIamPolicy...
	scope      []*protogen.Field // project, region, zone: in the resource name, in that order
	resource   *protogen.Field
	collection string            // of the resource, from the service's name: "instances"
	version    *protogen.Field   // GetIamPolicy: options_requested_policy_version, or nil
	holder     *protogen.Field   // SetIamPolicy, TestIamPermissions: the message field holding the policy or permissions
	inner      *protogen.Field   // its policy or permissions field
	refused    []*protogen.Field // the holder's other fields (the deprecated flattened bindings and etag)
}

// scopeCollections are the request fields a shaped policy method's resource
// name is composed of, before the resource's own collection.
var scopeCollections = map[protoreflect.Name]string{"project": "projects", "region": "regions", "zone": "zones"}

// shapedIAMOf returns how m, a policy method of its own types, is served,
// or nil.
func shapedIAMOf(svc *protogen.Service, m *protogen.Method, kind rpcKind) *shapedIAM {
	name := string(m.Desc.Name())
	if kind != unary || name != "GetIamPolicy" && name != "SetIamPolicy" && name != "TestIamPermissions" {
		return nil
	}
	s := &shapedIAM{fn: name, collection: serviceCollection(string(svc.Desc.Name()))}
	in := m.Input
	for _, order := range []protoreflect.Name{"project", "region", "zone"} {
		if f := field(in, string(order)); f != nil && isPlain(f, protoreflect.StringKind) {
			s.scope = append(s.scope, f)
		}
	}
	for _, f := range in.Fields {
		switch {
		case f.Desc.Name() == "resource" && isPlain(f, protoreflect.StringKind):
			s.resource = f
		case scopeCollections[f.Desc.Name()] != "" && isPlain(f, protoreflect.StringKind):
		case name == "GetIamPolicy" && f.Desc.Name() == "options_requested_policy_version" && isPlain(f, protoreflect.Int32Kind):
			s.version = f
		case name != "GetIamPolicy" && isSingularMessage(f) && s.holder == nil:
			s.holder = f
		default:
			return nil // a field the shape does not know
		}
	}
	if s.resource == nil {
		return nil
	}
	switch name {
	case "GetIamPolicy":
		if !policyShaped(m.Output) {
			return nil
		}
	case "SetIamPolicy":
		if s.holder == nil || !policyShaped(m.Output) {
			return nil
		}
		s.inner = field(s.holder.Message, "policy")
		if s.inner == nil || !isSingularMessage(s.inner) || s.inner.Message.Desc.FullName() != m.Output.Desc.FullName() {
			return nil
		}
		s.refused = rest(s.holder.Message, s.inner)
	case "TestIamPermissions":
		if s.holder == nil || !isOpen(m.Output) || !permissionsOnly(s.holder.Message) || !permissionsOnly(m.Output) {
			return nil
		}
		s.inner = field(s.holder.Message, "permissions")
	}
	return s
}

// policyShaped reports whether msg has the fields of a google.iam.v1.Policy
// that a policy method needs: bindings of role and members, a string etag,
// an int32 version.
func policyShaped(msg *protogen.Message) bool {
	b, etag, version := field(msg, "bindings"), field(msg, "etag"), field(msg, "version")
	if b == nil || !b.Desc.IsList() || b.Message == nil || etag == nil || !isPlain(etag, protoreflect.StringKind) || version == nil || !isPlain(version, protoreflect.Int32Kind) {
		return false
	}
	role, members := field(b.Message, "role"), field(b.Message, "members")
	return role != nil && isPlain(role, protoreflect.StringKind) && members != nil && members.Desc.IsList() && members.Desc.Kind() == protoreflect.StringKind
}

// permissionsOnly reports whether msg's one field is a repeated string
// permissions.
func permissionsOnly(msg *protogen.Message) bool {
	p := field(msg, "permissions")
	return len(msg.Fields) == 1 && p != nil && p.Desc.IsList() && p.Desc.Kind() == protoreflect.StringKind
}

// serviceCollection is the collection a service of one kind of resource
// names them by: Instances → instances, RegionDisks → disks (the region is
// a field of the request), GlobalNetworkEndpointGroups →
// networkEndpointGroups.
func serviceCollection(svc string) string {
	for _, prefix := range []string{"Region", "Global"} {
		if rest, ok := strings.CutPrefix(svc, prefix); ok && rest != "" && rest[0] >= 'A' && rest[0] <= 'Z' {
			svc = rest
		}
	}
	return strings.ToLower(svc[:1]) + svc[1:]
}

// namePattern is the resource name the request's fields compose, for doc
// comments: projects/{project}/zones/{zone}/instances/{resource}.
func (s *shapedIAM) namePattern() string {
	var parts []string
	for _, f := range s.scope {
		parts = append(parts, scopeCollections[f.Desc.Name()], "{"+string(f.Desc.Name())+"}")
	}
	return strings.Join(append(parts, s.collection, "{"+string(s.resource.Desc.Name())+"}"), "/")
}

// summary says what the method does, for the doc comment and the explain
// report.
func (s *shapedIAM) summary() string {
	name := s.namePattern()
	switch s.fn {
	case "GetIamPolicy":
		return "answers the IAM policy of " + name + ", as google.iam.v1's GetIamPolicy does"
	case "SetIamPolicy":
		return "sets the complete IAM policy of " + name + " (bindings, audit_configs, version), as google.iam.v1's SetIamPolicy does: an etag other than the current one is Aborted, and every write makes a new one"
	}
	return "answers the requested permissions the caller holds on " + name + ", as the svciam.Authorizer of the context decides (none without one)"
}

// notes are what the doc comment adds.
func (s *shapedIAM) notes() []string {
	notes := []string{s.fieldList() + " must be one name segment (InvalidArgument); whether the resource exists is not checked"}
	if s.fn != "TestIamPermissions" {
		notes = append(notes, "the policy is kept as a google.iam.v1.Policy (svciam.GetPolicyAs, SetPolicyAs): a field it has not (such as iam_owned, rules, a binding's binding_id) is InvalidArgument, never dropped; the etag is the base64 of google.iam.v1's")
	}
	if len(s.refused) > 0 {
		var names []string
		for _, f := range s.refused {
			names = append(names, string(f.Desc.Name()))
		}
		notes = append(notes, fmt.Sprintf("a request that sets %s.%s (the policy's fields flattened, deprecated) answers codes.Unimplemented: %s.policy holds the policy", s.holder.Desc.Name(), strings.Join(names, ", "), s.holder.Desc.Name()))
	}
	return notes
}

func (s *shapedIAM) fieldList() string {
	var names []string
	for _, f := range append(append([]*protogen.Field{}, s.scope...), s.resource) {
		names = append(names, string(f.Desc.Name()))
	}
	if len(names) == 1 {
		return names[0]
	}
	return "each of " + strings.Join(names, ", ")
}

// body is the Go body of the skeleton's method.
func (s *shapedIAM) body(g *protogen.GeneratedFile, m *protogen.Method, v *localNames, repo, ctx, req, err string) string {
	resource, out, held := v.of("resource"), v.of("out"), v.of("held")
	var b strings.Builder
	args := []string{}
	for _, f := range s.scope {
		args = append(args, strconv.Quote(scopeCollections[f.Desc.Name()]), strconv.Quote(string(f.Desc.Name())), req+".Get"+f.GoName+"()")
	}
	args = append(args, strconv.Quote(s.collection), strconv.Quote(string(s.resource.Desc.Name())), req+".Get"+s.resource.GoName+"()")
	b.WriteString(resource + ", " + err + " := " + g.QualifiedGoIdent(svciamPackage.Ident("ResourceName")) + "(" + strings.Join(args, ", ") + ")\n")
	b.WriteString("if " + err + " != nil {\nreturn nil, " + err + "\n}\n")
	typ := g.QualifiedGoIdent(m.Output.GoIdent)
	switch s.fn {
	case "GetIamPolicy":
		version := "0"
		if s.version != nil {
			version = req + ".Get" + s.version.GoName + "()"
		}
		b.WriteString(out + " := &" + typ + "{}\n")
		b.WriteString("if " + err + " := " + g.QualifiedGoIdent(svciamPackage.Ident("GetPolicyAs")) + "(" + ctx + ", " + repo + ", " + resource + ", " + version + ", " + out + "); " + err + " != nil {\nreturn nil, " + err + "\n}\n")
		b.WriteString("return " + out + ", nil")
	case "SetIamPolicy":
		holder := req + ".Get" + s.holder.GoName + "()"
		if len(s.refused) > 0 {
			var names []string
			for _, f := range s.refused {
				names = append(names, strconv.Quote(string(f.Desc.Name())))
			}
			b.WriteString("if " + err + " := " + g.QualifiedGoIdent(svcserverPackage.Ident("RefuseFields")) + "(" + holder + ", " + strings.Join(names, ", ") + "); " + err + " != nil {\nreturn nil, " + err + "\n}\n")
		}
		b.WriteString(out + " := &" + typ + "{}\n")
		b.WriteString("if " + err + " := " + g.QualifiedGoIdent(svciamPackage.Ident("SetPolicyAs")) + "(" + ctx + ", " + repo + ", " + resource + ", " + holder + ".Get" + s.inner.GoName + "(), " + out + "); " + err + " != nil {\nreturn nil, " + err + "\n}\n")
		b.WriteString("return " + out + ", nil")
	case "TestIamPermissions":
		b.WriteString(held + ", " + err + " := " + g.QualifiedGoIdent(svciamPackage.Ident("TestPermissionsOn")) + "(" + ctx + ", " + repo + ", " + resource + ", " + req + ".Get" + s.holder.GoName + "().Get" + s.inner.GoName + "())\n")
		b.WriteString("if " + err + " != nil {\nreturn nil, " + err + "\n}\n")
		b.WriteString("return &" + typ + "{" + field(m.Output, "permissions").GoName + ": " + held + "}, nil")
	}
	return b.String()
}

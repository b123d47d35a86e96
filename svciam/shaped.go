package svciam

import (
	"context"
	"encoding/base64"
	"strings"

	"cloud.google.com/go/iam/apiv1/iampb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// Some APIs declare policy methods with types of their own: Compute
// Engine's GetIamPolicy answers a compute.v1.Policy, whose fields are those
// of google.iam.v1.Policy (bindings of role, members and condition,
// audit_configs, version) but for a string etag, and whose requests name
// the resource by fields (project, zone, resource). GetPolicyAs,
// SetPolicyAs and TestPermissionsOn serve them from the same records as
// GetIamPolicy, SetIamPolicy and TestIamPermissions, converting by the
// policies' JSON form: a field of the API's policy that google.iam.v1.Policy
// has not (Compute's iam_owned, rules, a binding's binding_id) is refused,
// never dropped, and the etag is the base64 of the google.iam.v1 one.

// ResourceName composes the resource name of a policy from a request's
// fields, given as triples of collection, field name and value:
// ResourceName("projects", "project", "p", "instances", "resource", "vm")
// is "projects/p/instances/vm". A value that is empty or holds "/" is
// InvalidArgument naming its field.
func ResourceName(triples ...string) (string, error) {
	if len(triples)%3 != 0 {
		panic("svciam.ResourceName: arguments are collection, field, value triples")
	}
	var b strings.Builder
	for i := 0; i < len(triples); i += 3 {
		collection, field, value := triples[i], triples[i+1], triples[i+2]
		if value == "" || strings.Contains(value, "/") {
			return "", status.Errorf(codes.InvalidArgument, "%s: %q is not one name segment (non-empty, without \"/\")", field, truncate(value))
		}
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(collection + "/" + value)
	}
	return b.String(), nil
}

// GetPolicyAs answers in out, a policy message of the API's own type, the
// policy of resource, as GetIamPolicy answers it to requestedVersion.
func GetPolicyAs(ctx context.Context, repo Policies, resource string, requestedVersion int32, out proto.Message) error {
	p, err := GetIamPolicy(ctx, repo, &iampb.GetIamPolicyRequest{Resource: resource, Options: &iampb.GetPolicyOptions{RequestedPolicyVersion: requestedVersion}})
	if err != nil {
		return err
	}
	return fromIAM(p, out)
}

// SetPolicyAs sets policy, a message of the API's own type (nil: none was
// sent), as the complete policy of resource: its bindings, audit_configs
// and version, conditional on its etag when it has one (a stale or foreign
// etag is Aborted), as SetIamPolicy does; out gets the policy as stored.
func SetPolicyAs(ctx context.Context, repo Policies, resource string, policy, out proto.Message) error {
	if policy == nil || !policy.ProtoReflect().IsValid() {
		return status.Error(codes.InvalidArgument, "policy is required")
	}
	in, err := toIAM(policy)
	if err != nil {
		return err
	}
	p, err := SetIamPolicy(ctx, repo, &iampb.SetIamPolicyRequest{Resource: resource, Policy: in,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"bindings", "etag", "version", "audit_configs"}}})
	if err != nil {
		return err
	}
	return fromIAM(p, out)
}

// TestPermissionsOn answers those of permissions the caller holds on
// resource, as TestIamPermissions does.
func TestPermissionsOn(ctx context.Context, repo Policies, resource string, permissions []string) ([]string, error) {
	resp, err := TestIamPermissions(ctx, repo, &iampb.TestIamPermissionsRequest{Resource: resource, Permissions: permissions})
	if err != nil {
		return nil, err
	}
	return resp.GetPermissions(), nil
}

// fromIAM writes p into out by its JSON form (the etag, bytes in p, is its
// base64 in out's string).
func fromIAM(p *iampb.Policy, out proto.Message) error {
	b, err := protojson.Marshal(p)
	if err == nil {
		err = protojson.Unmarshal(b, out)
	}
	if err != nil {
		return status.Errorf(codes.Internal, "the policy does not convert to %s", out.ProtoReflect().Descriptor().FullName())
	}
	return nil
}

// toIAM reads policy as a google.iam.v1.Policy: InvalidArgument for a
// field it has not, Aborted for an etag this server did not give.
func toIAM(policy proto.Message) (*iampb.Policy, error) {
	c := proto.Clone(policy)
	m := c.ProtoReflect()
	var etag []byte
	if fd := m.Descriptor().Fields().ByName("etag"); fd != nil && fd.Kind() == protoreflect.StringKind && m.Has(fd) {
		e, err := base64.StdEncoding.DecodeString(m.Get(fd).String())
		if err != nil {
			return nil, status.Error(codes.Aborted, "policy.etag is not an etag of this server's: read the policy again")
		}
		etag = e
		m.Clear(fd)
	}
	b, err := protojson.Marshal(c)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "policy does not encode: %v", err)
	}
	in := &iampb.Policy{}
	if err := protojson.Unmarshal(b, in); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "policy holds what this server does not keep (only bindings of role, members and condition, audit_configs, version and etag): %v", plain(err))
	}
	in.Etag = etag
	return in, nil
}

// plain is err's message without the protobuf package's prefix.
func plain(err error) string {
	s := err.Error()
	if i := strings.Index(s, "unknown field"); i >= 0 {
		return s[i:]
	}
	return s
}

func truncate(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

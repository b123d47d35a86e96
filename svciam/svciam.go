// Package svciam serves the IAM policy methods of google.iam.v1 that many
// Google APIs declare on their own services (GetIamPolicy, SetIamPolicy,
// TestIamPermissions), the way Google's services answer them.
//
// One google.iam.v1.Policy is kept per resource name, packed in a
// svc.v1.PolicyRecord of a [svcstore.Repository] of its own ([Policies]):
// in memory ([NewPolicies]), or in SQLite or PostgreSQL through
// svcstore/sqlitestore and svcstore/pgstore with [Schema], shared by every
// replica on one database.
//
//   - [GetIamPolicy] answers the resource's policy; a resource without one
//     answers an empty Policy with an etag. options.requested_policy_version
//     must be 0, 1 or 3 (else InvalidArgument); below 3, conditional
//     bindings are answered as Google answers them to version-1 clients:
//     without their condition, the role suffixed "_withcond_" and a hash of
//     the condition.
//   - [SetIamPolicy] replaces the fields of update_mask (bindings, etag,
//     version, audit_configs; default "bindings,etag"); a policy etag that
//     is not the current one is Aborted (read, modify, write: AIP-154); the
//     etag is recomputed on every write; version is kept unless the mask
//     names it, and is 3 whenever a binding has a condition (which the
//     request must then declare with version 3).
//   - [TestIamPermissions] answers the requested permissions the caller
//     holds, as the [Authorizer] in the context decides ([WithAuthorizer],
//     [Interceptor]). Without one, the caller holds none: the answer is
//     empty. [ByRoles] is a simple authorizer: a caller holds a permission
//     when an unconditional binding of the policy grants it a role that
//     includes it. Conditions are never evaluated.
//
// [GetPolicyAs], [SetPolicyAs] and [TestPermissionsOn] serve the same
// records to APIs whose policy methods have types of their own (Compute
// Engine's), the resource named by [ResourceName] from the request's fields.
//
// [CheckResource] checks the resource a request names against the resources
// a service serves: NotFound when it does not exist, InvalidArgument when it
// names none of them.
//
// The package's dependencies are grpc, protobuf, svcstore, svcaip and the
// iampb Go types of cloud.google.com/go/iam.
package svciam

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"cloud.google.com/go/iam/apiv1/iampb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
	"github.com/svcgen/protoc-gen-svc/svcaip"
	"github.com/svcgen/protoc-gen-svc/svcstore"
)

// Policies is the repository of policy records.
type Policies = svcstore.Repository[*svcv1.PolicyRecord]

// Collection prefixes the name of every policy record: the record of
// resource "shelves/1" is "policies/shelves/1".
const Collection = "policies/"

// Schema is the schema of policy records, for svcstore.New and the
// database-backed stores.
var Schema = svcstore.Schema{
	KeyField: "name", KeyPrefix: Collection, EtagField: "etag",
	CreateTimeField: "create_time", UpdateTimeField: "update_time",
}

// NewPolicies returns an empty in-memory repository of policy records.
func NewPolicies(opts ...svcstore.Option) *svcstore.Memory[*svcv1.PolicyRecord] {
	return svcstore.MustNew[*svcv1.PolicyRecord](Schema, opts...)
}

// read returns the policy of resource and its record (nil when it has none:
// the policy is then empty, with the etag of an empty policy).
func read(ctx context.Context, repo Policies, resource string) (*iampb.Policy, *svcv1.PolicyRecord, error) {
	rec, err := repo.Get(ctx, Collection+resource)
	if status.Code(err) == codes.NotFound {
		return &iampb.Policy{Etag: etagOf(nil, &iampb.Policy{})}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	p := &iampb.Policy{}
	if err := rec.GetPolicy().UnmarshalTo(p); err != nil {
		return nil, nil, status.Errorf(codes.DataLoss, "the policy of %q does not decode", resource)
	}
	return p, rec, nil
}

// etagOf is the etag of p written after a policy of etag prev: a hash of
// both, so that every write has a new etag even when it restores an
// earlier policy.
func etagOf(prev []byte, p *iampb.Policy) []byte {
	c := proto.Clone(p).(*iampb.Policy)
	c.Etag = nil
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	h := sha256.New()
	h.Write(prev)
	h.Write(b)
	return h.Sum(nil)[:8]
}

func checkVersion(field string, v int32) error {
	if v != 0 && v != 1 && v != 3 {
		return status.Errorf(codes.InvalidArgument, "%s: %d is not a valid policy version; use 0, 1 or 3", field, v)
	}
	return nil
}

// GetIamPolicy answers the policy of req.resource, read from repo. The
// resource itself is not checked: see [CheckResource].
func GetIamPolicy(ctx context.Context, repo Policies, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	v := req.GetOptions().GetRequestedPolicyVersion()
	if err := checkVersion("options.requested_policy_version", v); err != nil {
		return nil, err
	}
	if req.GetResource() == "" {
		return nil, status.Error(codes.InvalidArgument, "resource is required")
	}
	p, _, err := read(ctx, repo, req.GetResource())
	if err != nil {
		return nil, err
	}
	if v < 3 && hasConditions(p) {
		// What Google answers a client that does not understand
		// conditions: the bindings without them, under roles that say so.
		p.Version = 1
		for _, b := range p.Bindings {
			if b.Condition != nil {
				data, _ := proto.MarshalOptions{Deterministic: true}.Marshal(b.Condition)
				sum := sha256.Sum256(data)
				b.Role += "_withcond_" + hex.EncodeToString(sum[:10])
				b.Condition = nil
			}
		}
	}
	return p, nil
}

func hasConditions(p *iampb.Policy) bool {
	return slices.ContainsFunc(p.GetBindings(), func(b *iampb.Binding) bool { return b.GetCondition() != nil })
}

// SetIamPolicy writes the fields of req.update_mask (default
// "bindings,etag") of req.policy as the policy of req.resource, and answers
// the policy as stored, with a new etag. A request whose policy carries an
// etag other than the current one is Aborted: the policy changed since it
// was read. The resource itself is not checked: see [CheckResource].
func SetIamPolicy(ctx context.Context, repo Policies, req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	in := req.GetPolicy()
	if req.GetResource() == "" {
		return nil, status.Error(codes.InvalidArgument, "resource is required")
	}
	if in == nil {
		return nil, status.Error(codes.InvalidArgument, "policy is required")
	}
	if err := checkVersion("policy.version", in.GetVersion()); err != nil {
		return nil, err
	}
	if hasConditions(in) && in.GetVersion() != 3 {
		return nil, status.Error(codes.InvalidArgument, "policy.bindings: a binding with a condition requires policy.version 3")
	}
	for _, b := range in.GetBindings() {
		if !strings.HasPrefix(b.GetRole(), "roles/") && !strings.Contains(b.GetRole(), "/roles/") {
			return nil, status.Errorf(codes.InvalidArgument, "policy.bindings: role %q is not a role name (roles/..., or .../roles/...)", b.GetRole())
		}
	}
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		paths = []string{"bindings", "etag"}
	}
	for _, p := range paths {
		switch p {
		case "bindings", "etag", "version", "audit_configs":
		default:
			return nil, status.Errorf(codes.InvalidArgument, "update_mask: %q is not a field of Policy that can be set (bindings, etag, version, audit_configs)", p)
		}
	}
	// The read decides the write: from the primary (svcstore.ReadFresh).
	cur, rec, err := read(svcstore.ReadFresh(ctx), repo, req.GetResource())
	if err != nil {
		return nil, err
	}
	if len(in.GetEtag()) > 0 && string(in.GetEtag()) != string(cur.GetEtag()) {
		return nil, status.Errorf(codes.Aborted, "the policy of %q changed since it was read (etag mismatch): read it again", req.GetResource())
	}
	next := proto.Clone(cur).(*iampb.Policy)
	for _, p := range paths {
		switch p {
		case "bindings":
			next.Bindings = in.GetBindings()
		case "version":
			next.Version = in.GetVersion()
		case "audit_configs":
			next.AuditConfigs = in.GetAuditConfigs()
		}
	}
	if hasConditions(next) {
		next.Version = 3
	}
	next.Etag = etagOf(cur.GetEtag(), next)
	packed, err := anypb.New(next)
	if err != nil {
		return nil, status.Error(codes.Internal, "the policy does not encode")
	}
	if rec == nil {
		_, err = repo.Create(ctx, &svcv1.PolicyRecord{Name: Collection + req.GetResource(), Policy: packed})
		if status.Code(err) == codes.AlreadyExists {
			err = status.Errorf(codes.Aborted, "the policy of %q changed concurrently: read it again", req.GetResource())
		}
	} else {
		rec.Policy = packed
		_, err = repo.Update(ctx, rec, nil)
	}
	if err != nil {
		return nil, err
	}
	return next, nil
}

// An Authorizer reports whether the caller of ctx holds permission on a
// resource whose policy is policy.
type Authorizer func(ctx context.Context, resource string, policy *iampb.Policy, permission string) bool

type authorizerKey struct{}

// WithAuthorizer returns ctx with a the authorizer of TestIamPermissions.
func WithAuthorizer(ctx context.Context, a Authorizer) context.Context {
	return context.WithValue(ctx, authorizerKey{}, a)
}

// Interceptor puts a in the context of every unary call, for
// TestIamPermissions.
func Interceptor(a Authorizer) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return handler(WithAuthorizer(ctx, a), req)
	}
}

// ByRoles is the authorizer of a caller whose IAM members (such as
// "user:alice@example.com") principal returns: it holds a permission when
// an unconditional binding of the policy names one of them, or allUsers,
// with a role whose permissions (roles) include it. Conditional bindings
// grant nothing, as their conditions are not evaluated.
func ByRoles(principal func(ctx context.Context) []string, roles map[string][]string) Authorizer {
	return func(ctx context.Context, _ string, p *iampb.Policy, permission string) bool {
		members := append(principal(ctx), "allUsers")
		for _, b := range p.GetBindings() {
			if b.GetCondition() != nil || !slices.Contains(roles[b.GetRole()], permission) {
				continue
			}
			for _, m := range b.GetMembers() {
				if slices.Contains(members, m) {
					return true
				}
			}
		}
		return false
	}
}

// TestIamPermissions answers those of req.permissions that the caller
// holds on req.resource, by the Authorizer of ctx; without one it holds
// none. A permission with a wildcard is InvalidArgument, as at Google.
func TestIamPermissions(ctx context.Context, repo Policies, req *iampb.TestIamPermissionsRequest) (*iampb.TestIamPermissionsResponse, error) {
	if req.GetResource() == "" {
		return nil, status.Error(codes.InvalidArgument, "resource is required")
	}
	for _, p := range req.GetPermissions() {
		if p == "" || strings.ContainsAny(p, "*") {
			return nil, status.Errorf(codes.InvalidArgument, "permissions: %q is not a permission; wildcards are not allowed", p)
		}
	}
	p, _, err := read(ctx, repo, req.GetResource())
	if err != nil {
		return nil, err
	}
	resp := &iampb.TestIamPermissionsResponse{}
	a, _ := ctx.Value(authorizerKey{}).(Authorizer)
	if a == nil {
		return resp, nil
	}
	for _, perm := range req.GetPermissions() {
		if a(ctx, req.GetResource(), p, perm) && !slices.Contains(resp.Permissions, perm) {
			resp.Permissions = append(resp.Permissions, perm)
		}
	}
	return resp, nil
}

// An Owner is a kind of resource a service serves, for CheckResource: its
// resource name patterns, and how to learn whether a name exists.
type Owner struct {
	Patterns []string
	// Exists returns nil when the resource exists, NotFound when it does
	// not; nil: existence is not checked.
	Exists func(ctx context.Context, name string) error
}

// In is the Owner of the resources of repo (nil: not checked), named by
// patterns ("shelves/{shelf}/books/{book}").
func In[M proto.Message](repo svcstore.Repository[M], patterns ...string) Owner {
	o := Owner{Patterns: patterns}
	if repo != nil {
		o.Exists = func(ctx context.Context, name string) error {
			_, err := repo.Get(ctx, name)
			return err
		}
	}
	return o
}

// CheckResource checks the resource an IAM request names: InvalidArgument
// when it is empty or matches no pattern of owners, NotFound when the
// owner it matches does not hold it. Without owners, any non-empty name is
// accepted.
func CheckResource(ctx context.Context, resource string, owners ...Owner) error {
	if resource == "" {
		return status.Error(codes.InvalidArgument, "resource is required")
	}
	var all []string
	for _, o := range owners {
		all = append(all, o.Patterns...)
		if svcaip.CheckName("resource", resource, o.Patterns...) != nil {
			continue
		}
		if o.Exists == nil {
			return nil
		}
		err := o.Exists(ctx, resource)
		if status.Code(err) == codes.NotFound {
			return status.Errorf(codes.NotFound, "resource %q not found", resource)
		}
		return err
	}
	if len(owners) == 0 {
		return nil
	}
	return status.Errorf(codes.InvalidArgument, "resource: %q is not a resource name of the form %s", resource, strings.Join(all, " or "))
}

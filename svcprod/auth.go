package svcprod

import (
	"context"
	"strings"
	"sync"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
	"github.com/svcgen/protoc-gen-svc/svcclient"
	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// AuthFunc authenticates a call to fullMethod ("/pkg.Service/Method") from
// what ctx carries (metadata, the peer's TLS certificate). It returns the
// context the handler gets (with the caller's identity, for example), or a
// status error: codes.Unauthenticated when the caller has no valid
// credentials, codes.PermissionDenied when its valid credentials do not
// allow this call. An error that is not a status error is answered as
// Unauthenticated, without its text.
type AuthFunc func(ctx context.Context, fullMethod string) (context.Context, error)

// AuthOption changes which methods WithAuth treats as public.
type AuthOption func(*authPolicy)

// PublicMethods makes methods public, whatever the schema says: each name
// is a full method ("/pkg.Service/Method") or a whole service
// ("pkg.Service").
func PublicMethods(names ...string) AuthOption {
	return func(p *authPolicy) {
		for _, n := range names {
			if strings.HasPrefix(n, "/") {
				p.publicMethods[n] = true
			} else {
				p.publicServices[n] = true
			}
		}
	}
}

// ProtectHealthAndReflection requires credentials for the health and
// reflection services too, which are public by default (load balancers and
// orchestrators probe health without credentials).
func ProtectHealthAndReflection() AuthOption {
	return func(p *authPolicy) {
		for _, s := range defaultPublicServices {
			delete(p.publicServices, s)
		}
	}
}

var defaultPublicServices = []string{
	"grpc.health.v1.Health",
	"grpc.reflection.v1.ServerReflection",
	"grpc.reflection.v1alpha.ServerReflection",
}

// WithAuth runs authenticate before every call except the public ones: the
// methods whose schema says (svc.v1.method).auth = AUTH_PUBLIC (or whose
// service says it and the method does not say otherwise), those given with
// PublicMethods, and the health and reflection services. A method the
// schema says nothing about requires credentials.
//
// The public methods are found without a list kept by hand, once per
// method: from the policy table protoc-gen-svc generates beside the
// service's client wrapper, which generated code registers with
// svcclient.RegisterPolicies (see svcclient.MethodPolicy.Auth); for a
// service generated without that file, from the method's descriptor in
// protoregistry.GlobalFiles, where every .pb.go registers itself (see
// SchemaAuth). A method both know is public only if both say so: they are
// generated from the same schema, and when they are not (a .pb.go
// regenerated without its _svc_client.pb.go), the method stays protected.
//
// A service implementation that has go-grpc-middleware's
// AuthFuncOverride method authenticates its own non-public calls instead.
func WithAuth(authenticate AuthFunc, opts ...AuthOption) svcserver.Option {
	p := newAuthPolicy(opts)
	authFunc := func(ctx context.Context) (context.Context, error) {
		method, _ := grpc.Method(ctx)
		newCtx, err := authenticate(ctx, method)
		if err != nil {
			if _, ok := status.FromError(err); !ok {
				err = status.Error(codes.Unauthenticated, "authentication failed")
			}
			return nil, err
		}
		return newCtx, nil
	}
	protected := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool {
		// By service and method: CallMeta.FullMethod formats a new string.
		return !p.publicCall(c.Service, c.Method)
	})
	unary := selector.UnaryServerInterceptor(auth.UnaryServerInterceptor(authFunc), protected)
	return svcserver.WithCheck(
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo) (context.Context, error) {
			// The interceptors pass the call on, with the context
			// authentication gave, to contextNext, which returns it.
			resp, err := unary(ctx, req, info, contextNext)
			if err != nil {
				return nil, err
			}
			newCtx, _ := resp.(context.Context)
			return newCtx, nil
		},
		selector.StreamServerInterceptor(auth.StreamServerInterceptor(authFunc), protected),
	)
}

// contextNext is the handler WithAuth gives the middleware's unary
// interceptors: it answers with the context it is given.
func contextNext(ctx context.Context, _ any) (any, error) { return ctx, nil }

type authPolicy struct {
	publicMethods  map[string]bool
	publicServices map[string]bool

	mu    sync.RWMutex
	calls map[serviceMethod]bool // public, by service and method
}

// serviceMethod is a method by its service and name, as CallMeta splits
// "/pkg.Service/Method".
type serviceMethod struct{ service, method string }

func newAuthPolicy(opts []AuthOption) *authPolicy {
	p := &authPolicy{publicMethods: map[string]bool{}, publicServices: map[string]bool{}, calls: map[serviceMethod]bool{}}
	for _, s := range defaultPublicServices {
		p.publicServices[s] = true
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// public reports whether fullMethod may be called without credentials.
func (p *authPolicy) public(fullMethod string) bool {
	return p.publicMethods[fullMethod] || p.publicServices[serviceOf(fullMethod)] || schemaPublic(fullMethod)
}

// publicCall is public for "/service/method", decided once per method and
// kept: grpc runs interceptors for registered methods only, so the cache is
// bounded by the server's methods.
func (p *authPolicy) publicCall(service, method string) bool {
	key := serviceMethod{service, method}
	p.mu.RLock()
	public, ok := p.calls[key]
	p.mu.RUnlock()
	if ok {
		return public
	}
	public = p.public("/" + service + "/" + method)
	p.mu.Lock()
	p.calls[key] = public
	p.mu.Unlock()
	return public
}

// schemaPublic reports whether the schema makes fullMethod public, as
// WithAuth documents: the generated table, the descriptor, or both.
func schemaPublic(fullMethod string) bool {
	row, inTable := svcclient.RegisteredPolicy(fullMethod)
	return agreedPublic(row.Auth, inTable, SchemaAuth(fullMethod))
}

// agreedPublic is schemaPublic's decision, from the table's row (if any)
// and the descriptor's resolution (AUTH_UNSPECIFIED: no descriptor).
func agreedPublic(table svcclient.Auth, inTable bool, schema svcv1.Auth) bool {
	if !inTable {
		return schema == svcv1.Auth_AUTH_PUBLIC
	}
	return table == svcclient.AuthPublic && (schema == svcv1.Auth_AUTH_UNSPECIFIED || schema == svcv1.Auth_AUTH_PUBLIC)
}

func serviceOf(fullMethod string) string {
	service, _ := splitMethod(fullMethod)
	return service
}

// SchemaAuth returns what the schema says about authenticating calls to
// fullMethod ("/pkg.Service/Method"), read from its descriptor in
// protoregistry.GlobalFiles: the method's (svc.v1.method).auth, else its
// service's (svc.v1.service).auth, else AUTH_REQUIRED — the resolution
// protoc-gen-svc writes into the generated policy table. It returns
// AUTH_UNSPECIFIED for a method that is not in protoregistry.GlobalFiles.
func SchemaAuth(fullMethod string) svcv1.Auth {
	md := methodDescriptor(fullMethod)
	if md == nil {
		return svcv1.Auth_AUTH_UNSPECIFIED
	}
	if a := callPolicy(md.Options(), svcv1.E_Method, &descriptorpb.MethodOptions{}).GetAuth(); a != svcv1.Auth_AUTH_UNSPECIFIED {
		return a
	}
	if a := callPolicy(md.Parent().Options(), svcv1.E_Service, &descriptorpb.ServiceOptions{}).GetAuth(); a != svcv1.Auth_AUTH_UNSPECIFIED {
		return a
	}
	return svcv1.Auth_AUTH_REQUIRED
}

// methodDescriptor finds "/pkg.Service/Method" in protoregistry.GlobalFiles.
func methodDescriptor(fullMethod string) protoreflect.MethodDescriptor {
	name := strings.Replace(strings.TrimPrefix(fullMethod, "/"), "/", ".", 1)
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		return nil
	}
	md, _ := d.(protoreflect.MethodDescriptor)
	return md
}

// callPolicy reads the svc.v1 call policy extension ext from a service's or
// method's options. Options of descriptors built at run time (protocompile,
// dynamicpb) may hold the extension as another Go type or as unknown fields,
// so the options are re-read into fresh, where the extension linked into
// this program resolves; this runs once per method.
func callPolicy(opts proto.Message, ext protoreflect.ExtensionType, fresh proto.Message) *svcv1.CallPolicy {
	if opts == nil || !opts.ProtoReflect().IsValid() {
		return nil
	}
	b, err := proto.Marshal(opts)
	if err != nil || proto.Unmarshal(b, fresh) != nil || !proto.HasExtension(fresh, ext) {
		return nil
	}
	cp, _ := proto.GetExtension(fresh, ext).(*svcv1.CallPolicy)
	return cp
}

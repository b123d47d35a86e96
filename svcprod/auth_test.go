package svcprod_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
	"github.com/svcgen/protoc-gen-svc/svcprod"
)

type identityKey struct{}

// tokenAuth accepts "Bearer admin" for everything and "Bearer reader" for
// GetItem-like calls only, and records which methods it was asked about.
type tokenAuth struct {
	mu     sync.Mutex
	called []string
}

func (a *tokenAuth) authenticate(ctx context.Context, fullMethod string) (context.Context, error) {
	a.mu.Lock()
	a.called = append(a.called, fullMethod)
	a.mu.Unlock()
	token, err := auth.AuthFromMD(ctx, "bearer")
	if err != nil {
		return nil, err
	}
	switch token {
	case "admin":
	case "reader":
		if !strings.Contains(fullMethod, "/Get") {
			return nil, status.Error(codes.PermissionDenied, "reader tokens may only read")
		}
	default:
		return nil, status.Error(codes.Unauthenticated, "unknown token")
	}
	return context.WithValue(ctx, identityKey{}, token), nil
}

func (a *tokenAuth) calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.called)
}

func withToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// TestAuthPerMethod checks that the hook runs for protected methods only,
// as the schema says, with health and reflection public, and that
// Unauthenticated and PermissionDenied reach the client.
func TestAuthPerMethod(t *testing.T) {
	a := &tokenAuth{}
	var seenIdentity any
	h := func(ctx context.Context, fullMethod string, reqs []proto.Message) (proto.Message, error) {
		seenIdentity = ctx.Value(identityKey{})
		return echoItem(t)(ctx, fullMethod, reqs)
	}
	addr, _ := serve(t, h, svcprod.WithAuth(a.authenticate))
	conn := dial(t, addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	ctx := testCtx(t)
	get := newMsg(t, "GetItemRequest")
	create := set(newMsg(t, "CreateItemRequest"), "item.title", "Mug")

	for _, tc := range []struct {
		method, token string
		req           proto.Message
		want          codes.Code
		hooked        bool
	}{
		{"/prodtest.v1.Items/GetItem", "", get, codes.OK, false},
		{"/prodtest.v1.Items/CreateItem", "", create, codes.Unauthenticated, true},
		{"/prodtest.v1.Items/CreateItem", "nobody", create, codes.Unauthenticated, true},
		{"/prodtest.v1.Items/CreateItem", "reader", create, codes.PermissionDenied, true},
		{"/prodtest.v1.Items/CreateItem", "admin", create, codes.OK, true},
		{"/prodtest.v1.Items/DeleteItem", "", get, codes.Unauthenticated, true},
		{"/prodtest.v1.Open/Ping", "", get, codes.OK, false},
		{"/prodtest.v1.Open/Secret", "", get, codes.Unauthenticated, true},
		{"/prodtest.v1.Open/Secret", "admin", get, codes.OK, true},
	} {
		before := len(a.calls())
		callCtx := ctx
		if tc.token != "" {
			callCtx = withToken(ctx, tc.token)
		}
		seenIdentity = nil
		_, err := invoke(callCtx, t, conn, tc.method, tc.req)
		wantCode(t, tc.method+" with token "+tc.token, err, tc.want)
		if hooked := len(a.calls()) > before; hooked != tc.hooked {
			t.Errorf("%s: auth hook called = %v, want %v", tc.method, hooked, tc.hooked)
		}
		if tc.want == codes.OK && tc.hooked && seenIdentity != tc.token {
			t.Errorf("%s: handler saw identity %v, want the hook's %q", tc.method, seenIdentity, tc.token)
		}
	}
	if calls := a.calls(); !slices.Contains(calls, "/prodtest.v1.Items/CreateItem") {
		t.Errorf("the hook was not told the method: %v", calls)
	}

	// Streams: a protected client stream, a public server stream.
	upload, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/prodtest.v1.Items/UploadItems")
	if err != nil {
		t.Fatal(err)
	}
	upload.CloseSend()
	wantCode(t, "UploadItems without a token", upload.RecvMsg(newMsg(t, "Item")), codes.Unauthenticated)
	sctx, cancel := context.WithCancel(ctx)
	watch, err := conn.NewStream(sctx, &grpc.StreamDesc{ServerStreams: true}, "/prodtest.v1.Items/WatchItems")
	if err != nil {
		t.Fatal(err)
	}
	watch.SendMsg(get)
	watch.CloseSend()
	if err := watch.RecvMsg(newMsg(t, "Item")); err != nil {
		t.Errorf("WatchItems (public) without a token: %v", err)
	}
	cancel()

	// Health and reflection need no credentials, and do not call the hook.
	before := len(a.calls())
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "prodtest.v1.Items"})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health without credentials: %v, %v", resp, err)
	}
	refl, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	refl.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
	if _, err := refl.Recv(); err != nil {
		t.Errorf("reflection without credentials: %v", err)
	}
	refl.CloseSend()
	if n := len(a.calls()); n != before {
		t.Errorf("health or reflection called the auth hook: %v", a.calls()[before:])
	}
}

// TestAuthOptions covers PublicMethods, ProtectHealthAndReflection and a
// hook that returns a plain error.
func TestAuthOptions(t *testing.T) {
	leaky := func(context.Context, string) (context.Context, error) {
		return nil, errSecretAuth
	}
	addr, _ := serve(t, echoItem(t), svcprod.WithAuth(leaky,
		svcprod.PublicMethods("/prodtest.v1.Items/CreateItem", "prodtest.v1.Open"),
		svcprod.ProtectHealthAndReflection()))
	conn := dial(t, addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	ctx := testCtx(t)
	_, err := invoke(ctx, t, conn, "/prodtest.v1.Items/CreateItem", set(newMsg(t, "CreateItemRequest"), "item.title", "Mug"))
	wantCode(t, "CreateItem made public in code", err, codes.OK)
	_, err = invoke(ctx, t, conn, "/prodtest.v1.Open/Secret", newMsg(t, "GetItemRequest"))
	wantCode(t, "Open made public in code", err, codes.OK)
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	wantCode(t, "protected health", err, codes.Unauthenticated)
	_, err = invoke(ctx, t, conn, "/prodtest.v1.Items/DeleteItem", newMsg(t, "DeleteItemRequest"))
	wantCode(t, "hook with a plain error", err, codes.Unauthenticated)
	if strings.Contains(status.Convert(err).Message(), "ldap") {
		t.Errorf("the hook's plain error leaked: %v", err)
	}
}

var errSecretAuth = errorString("ldap://10.0.0.3 bind failed")

type errorString string

func (e errorString) Error() string { return string(e) }

func TestSchemaAuth(t *testing.T) {
	fixture(t)
	for method, want := range map[string]svcv1.Auth{
		"/prodtest.v1.Items/GetItem":    svcv1.Auth_AUTH_PUBLIC,
		"/prodtest.v1.Items/CreateItem": svcv1.Auth_AUTH_REQUIRED,
		"/prodtest.v1.Open/Ping":        svcv1.Auth_AUTH_PUBLIC,
		"/prodtest.v1.Open/Secret":      svcv1.Auth_AUTH_REQUIRED,
		"/grpc.health.v1.Health/Check":  svcv1.Auth_AUTH_REQUIRED, // the schema says nothing; WithAuth makes it public
		"/no.such.Service/Method":       svcv1.Auth_AUTH_UNSPECIFIED,
	} {
		if got := svcprod.SchemaAuth(method); got != want {
			t.Errorf("SchemaAuth(%s) = %v, want %v", method, got, want)
		}
	}
}

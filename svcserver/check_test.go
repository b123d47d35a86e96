package svcserver_test

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/svcgen/protoc-gen-svc/svcserver"
)

type checkKey struct{}

// TestWithCheck gives checks and interceptors in turns: they run in the
// order given, each check passes the next the context it returns, and a
// check's error answers the call without running what follows.
func TestWithCheck(t *testing.T) {
	var ran []string
	check := func(name string) svcserver.Option {
		return svcserver.WithCheck(func(ctx context.Context, req any, info *grpc.UnaryServerInfo) (context.Context, error) {
			ran = append(ran, name+":"+fmtValue(ctx.Value(checkKey{})))
			if info.FullMethod != "/grpc.testing.TestService/UnaryCall" {
				t.Errorf("check %s: method %q", name, info.FullMethod)
			}
			if req.(*testgrpc.SimpleRequest).GetResponseStatus().GetMessage() == "refuse at "+name {
				return nil, status.Error(codes.PermissionDenied, "refused by "+name)
			}
			return context.WithValue(ctx, checkKey{}, name), nil
		}, nil)
	}
	interceptor := func(name string) svcserver.Option {
		return svcserver.WithServerOptions(grpc.ChainUnaryInterceptor(
			func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
				ran = append(ran, name+":"+fmtValue(ctx.Value(checkKey{})))
				return handler(ctx, req)
			}))
	}
	addr, _ := serveTest(t, &testService{}, check("a"), check("b"), interceptor("i"), check("c"), interceptor("j"))
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := testgrpc.NewTestServiceClient(conn)
	ctx := context.Background()

	if _, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a:", "b:a", "i:b", "c:b", "j:c"}; !slices.Equal(ran, want) {
		t.Errorf("ran %q, want %q", ran, want)
	}
	ran = nil
	_, err = client.UnaryCall(ctx, &testgrpc.SimpleRequest{ResponseStatus: &testgrpc.EchoStatus{Message: "refuse at b"}})
	if status.Code(err) != codes.PermissionDenied || status.Convert(err).Message() != "refused by b" {
		t.Errorf("refused call: %v", err)
	}
	if want := []string{"a:", "b:a"}; !slices.Equal(ran, want) {
		t.Errorf("refused call ran %q, want %q", ran, want)
	}
}

func fmtValue(v any) string {
	s, _ := v.(string)
	return s
}

package svcprod_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/svcgen/protoc-gen-svc/internal/prodtest"

	"github.com/bufbuild/protocompile"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	// The protos the fixture imports, registered in GlobalFiles.
	_ "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	_ "github.com/svcgen/protoc-gen-svc/svc/v1"

	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// fixtureProto is the schema of the tests: buf.validate rules and svc.v1
// auth options, compiled in the test with protocompile and registered in
// protoregistry.GlobalFiles as generated code would register it.
const fixtureProto = `
syntax = "proto3";
package prodtest.v1;

import "buf/validate/validate.proto";
import "svc/v1/options.proto";

// Items: every method needs credentials unless it says otherwise.
service Items {
  rpc GetItem(GetItemRequest) returns (Item) {
    option idempotency_level = NO_SIDE_EFFECTS;
    option (svc.v1.method) = {auth: AUTH_PUBLIC};
  }
  rpc CreateItem(CreateItemRequest) returns (Item);
  rpc DeleteItem(DeleteItemRequest) returns (Item) {
    option (svc.v1.method).auth = AUTH_REQUIRED;
  }
  rpc UploadItems(stream Item) returns (Item);
  rpc WatchItems(GetItemRequest) returns (stream Item) {
    option (svc.v1.method).auth = AUTH_PUBLIC;
  }
}

// Open: public as a whole, but for one method.
service Open {
  option (svc.v1.service).auth = AUTH_PUBLIC;
  rpc Ping(GetItemRequest) returns (Item);
  rpc Secret(GetItemRequest) returns (Item) {
    option (svc.v1.method).auth = AUTH_REQUIRED;
  }
}

message Item {
  string name = 1;
  string title = 2 [(buf.validate.field).string.min_len = 1, (buf.validate.field).string.max_len = 100];
  Price price = 3;
  bytes blob = 4;
  repeated string tags = 5;
  map<string, string> attributes = 6;
}

message Price {
  string currency_code = 1 [(buf.validate.field).string.len = 3];
  int64 minor_units = 2 [(buf.validate.field).int64.gte = 0];
}

message GetItemRequest {
  string name = 1;
}

message CreateItemRequest {
  Item item = 1 [(buf.validate.field).required = true];
  string item_id = 2;
  string request_id = 3;
}

message DeleteItemRequest {
  string name = 1;
}
`

var (
	fixtureOnce sync.Once
	fixtureFile protoreflect.FileDescriptor
)

// fixture compiles fixtureProto once and registers it globally.
func fixture(t testing.TB) protoreflect.FileDescriptor {
	t.Helper()
	fixtureOnce.Do(func() {
		compiler := protocompile.Compiler{
			Resolver: protocompile.CompositeResolver{
				&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(map[string]string{"prodtest/v1/prodtest.proto": fixtureProto})},
				protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
					fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
					if err != nil {
						return protocompile.SearchResult{}, err
					}
					return protocompile.SearchResult{Desc: fd}, nil
				}),
			},
		}
		files, err := compiler.Compile(context.Background(), "prodtest/v1/prodtest.proto")
		if err != nil {
			panic(err)
		}
		if err := protoregistry.GlobalFiles.RegisterFile(files[0]); err != nil {
			panic(err)
		}
		fixtureFile = files[0]
	})
	return fixtureFile
}

func msgDesc(t testing.TB, name string) protoreflect.MessageDescriptor {
	return fixture(t).Messages().ByName(protoreflect.Name(name))
}

// newMsg returns a new fixture message named name, with fields set from
// the protobuf text (prototext-like) fields, via reflection.
func newMsg(t testing.TB, name string) *dynamicpb.Message {
	return dynamicpb.NewMessage(msgDesc(t, name))
}

// set sets a string field on a dynamic message, creating message fields on
// the way: set(m, "item.price.currency_code", "EU").
func set(m *dynamicpb.Message, path string, v any) *dynamicpb.Message {
	msg := protoreflect.Message(m)
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		fd := msg.Descriptor().Fields().ByName(protoreflect.Name(p))
		msg = msg.Mutable(fd).Message()
	}
	fd := msg.Descriptor().Fields().ByName(protoreflect.Name(parts[len(parts)-1]))
	msg.Set(fd, protoreflect.ValueOf(v))
	return m
}

// handlerFunc answers a call of the fixture's services: the request, and
// for client streams every message received.
type handlerFunc func(ctx context.Context, fullMethod string, reqs []proto.Message) (proto.Message, error)

// register registers the fixture's services on s, all answered by h: unary
// and client-streaming calls return its answer; server streams send it
// once, then wait for the client to go away.
func register(t testing.TB, s grpc.ServiceRegistrar, h handlerFunc) {
	fd := fixture(t)
	for i := 0; i < fd.Services().Len(); i++ {
		sd := fd.Services().Get(i)
		desc := &grpc.ServiceDesc{ServiceName: string(sd.FullName()), HandlerType: (*any)(nil)}
		for j := 0; j < sd.Methods().Len(); j++ {
			md := sd.Methods().Get(j)
			full := "/" + string(sd.FullName()) + "/" + string(md.Name())
			in := md.Input()
			switch {
			case !md.IsStreamingClient() && !md.IsStreamingServer():
				desc.Methods = append(desc.Methods, grpc.MethodDesc{
					MethodName: string(md.Name()),
					Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
						req := dynamicpb.NewMessage(in)
						if err := dec(req); err != nil {
							return nil, err
						}
						call := func(ctx context.Context, req any) (any, error) {
							return h(ctx, full, []proto.Message{req.(proto.Message)})
						}
						if interceptor == nil {
							return call(ctx, req)
						}
						return interceptor(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: full}, call)
					},
				})
			default:
				client := md.IsStreamingClient()
				desc.Streams = append(desc.Streams, grpc.StreamDesc{
					StreamName:    string(md.Name()),
					ClientStreams: client,
					ServerStreams: md.IsStreamingServer(),
					Handler: func(srv any, ss grpc.ServerStream) error {
						var reqs []proto.Message
						for {
							req := dynamicpb.NewMessage(in)
							err := ss.RecvMsg(req)
							if client && errors.Is(err, io.EOF) {
								break
							}
							if err != nil {
								return err
							}
							reqs = append(reqs, req)
							if !client {
								break
							}
						}
						resp, err := h(ss.Context(), full, reqs)
						if err != nil {
							return err
						}
						if err := ss.SendMsg(resp); err != nil {
							return err
						}
						if md.IsStreamingServer() {
							<-ss.Context().Done()
						}
						return nil
					},
				})
			}
		}
		s.RegisterService(desc, struct{}{})
	}
}

// echoItem answers every call with an Item named after the call's method.
func echoItem(t testing.TB) handlerFunc {
	return func(ctx context.Context, fullMethod string, reqs []proto.Message) (proto.Message, error) {
		item := newMsg(t, "Item")
		set(item, "name", strings.ToLower(fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]))
		return item, nil
	}
}

// serve starts a svcserver.Server with the fixture's services answered by h
// on a loopback port; it returns the address and the server's log.
func serve(t *testing.T, h handlerFunc, opts ...svcserver.Option) (string, *prodtest.LogBuffer) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &prodtest.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	srv := svcserver.New(append([]svcserver.Option{svcserver.WithLogger(logger), svcserver.WithDrainTimeout(time.Second)}, opts...)...)
	register(t, srv, h)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return lis.Addr().String(), logs
}

func dial(t testing.TB, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// invoke calls a unary method of the fixture and returns the answer.
func invoke(ctx context.Context, t testing.TB, conn *grpc.ClientConn, fullMethod string, req proto.Message, opts ...grpc.CallOption) (*dynamicpb.Message, error) {
	resp := newMsg(t, "Item")
	err := conn.Invoke(ctx, fullMethod, req, resp, opts...)
	return resp, err
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Errorf("%s: %v, want %v", what, err, want)
	}
}

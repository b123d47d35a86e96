package svchttp_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/anypb"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/examples/shop/server"
	"github.com/svcgen/protoc-gen-svc/svcserver"
	"github.com/svcgen/protoc-gen-svc/svcserver/svchttp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// catalog is the shop's catalog with test behaviours on GetProduct, chosen
// by the product name: "panic" panics, "block" waits for the call's context
// to end and reports it on blocked, "sleep" answers after 300ms.
type catalog struct {
	*server.Catalog
	blocked chan blockedCall
}

type blockedCall struct {
	hadDeadline bool
	err         error
}

func (c *catalog) GetProduct(ctx context.Context, req *shopv1.GetProductRequest) (*shopv1.Product, error) {
	switch req.GetName() {
	case "panic":
		panic("test panic")
	case "block":
		_, ok := ctx.Deadline()
		<-ctx.Done()
		c.blocked <- blockedCall{hadDeadline: ok, err: ctx.Err()}
		return nil, status.FromContextError(ctx.Err()).Err()
	case "sleep":
		time.Sleep(300 * time.Millisecond)
		return &shopv1.Product{Name: "sleep"}, nil
	}
	return c.Catalog.GetProduct(ctx, req)
}

// auth refuses calls whose authorization is "Bearer wrong", as an
// authentication interceptor would.
func auth(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("authorization"); len(v) > 0 && v[0] == "Bearer wrong" {
		return nil, status.Error(codes.Unauthenticated, "invalid token")
	}
	return handler(ctx, req)
}

// validate refuses a CreateProduct without a title, with a BadRequest
// detail, as a validation interceptor would.
func validate(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if r, ok := req.(*shopv1.CreateProductRequest); ok && r.GetProduct().GetTitle() == "" {
		st, err := status.New(codes.InvalidArgument, "invalid CreateProductRequest").WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "product.title", Description: "must not be empty"}},
		})
		if err != nil {
			return nil, err
		}
		return nil, st.Err()
	}
	return handler(ctx, req)
}

type testServer struct {
	addr    string
	base    string // http://addr
	catalog *catalog
	grpc    *grpc.ClientConn
	stop    func() error // cancels Serve and returns its error
}

// start serves the shop through svchttp.Serve on a loopback port, with the
// test catalog and the auth and validation interceptors.
func start(t testing.TB, opts ...svchttp.Option) *testServer {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	srv := svcserver.New(
		svcserver.WithLogger(logger),
		svcserver.WithDrainTimeout(5*time.Second),
		svcserver.WithServerOptions(grpc.ChainUnaryInterceptor(auth, validate)),
	)
	shop := server.New(logger)
	cat := &catalog{Catalog: shop.Catalog, blocked: make(chan blockedCall, 1)}
	shopv1.RegisterCatalogServer(srv, cat)
	shopv1.RegisterCustomersServer(srv, shop.Customers)
	shopv1.RegisterOrdersServer(srv, shop.Orders)

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- svchttp.Serve(ctx, srv, lis, opts...) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			shop.Close()
			serveErr = <-served
		})
		return serveErr
	}
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testServer{addr: lis.Addr().String(), base: "http://" + lis.Addr().String(), catalog: cat, grpc: conn, stop: stop}
}

// h2c is an HTTP client that speaks cleartext HTTP/2 only, as gRPC clients
// do; http.DefaultClient speaks HTTP/1.1 to http:// URLs.
func h2c(t testing.TB) *http.Client {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: protocols}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func http1(t testing.TB) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// caller makes the same unary and server-streaming calls in one protocol and
// returns gRPC status errors, so that results compare across protocols.
type caller struct {
	name             string
	getProduct       func(ctx context.Context, req *shopv1.GetProductRequest) (*shopv1.Product, error)
	listProducts     func(ctx context.Context, req *shopv1.ListProductsRequest) (*shopv1.ListProductsResponse, error)
	createProduct    func(ctx context.Context, req *shopv1.CreateProductRequest) (*shopv1.Product, error)
	listCustomers    func(ctx context.Context, req *shopv1.ListCustomersRequest) ([]*shopv1.Customer, error) // nil: no streaming in this protocol
	watchBadCategory func(ctx context.Context) error                                                         // a server stream that fails
}

func grpcCaller(ts *testServer) caller {
	catalog := shopv1.NewCatalogClient(ts.grpc)
	customers := shopv1.NewCustomersClient(ts.grpc)
	return caller{
		name: "grpc",
		getProduct: func(ctx context.Context, req *shopv1.GetProductRequest) (*shopv1.Product, error) {
			return catalog.GetProduct(ctx, req)
		},
		listProducts: func(ctx context.Context, req *shopv1.ListProductsRequest) (*shopv1.ListProductsResponse, error) {
			return catalog.ListProducts(ctx, req)
		},
		createProduct: func(ctx context.Context, req *shopv1.CreateProductRequest) (*shopv1.Product, error) {
			return catalog.CreateProduct(ctx, req)
		},
		listCustomers: func(ctx context.Context, req *shopv1.ListCustomersRequest) ([]*shopv1.Customer, error) {
			stream, err := customers.ListCustomers(ctx, req)
			if err != nil {
				return nil, err
			}
			var all []*shopv1.Customer
			for {
				c, err := stream.Recv()
				if err == io.EOF {
					return all, nil
				}
				if err != nil {
					return all, err
				}
				all = append(all, c)
			}
		},
		watchBadCategory: func(ctx context.Context) error {
			stream, err := catalog.WatchProducts(ctx, &shopv1.WatchProductsRequest{Categories: []shopv1.ProductCategory{99}})
			if err != nil {
				return err
			}
			_, err = stream.Recv()
			return err
		},
	}
}

// connectCaller calls with connect-go's client: the Connect protocol (JSON,
// over h2c) or gRPC-Web (protobuf, over HTTP/1.1).
func connectCaller(t testing.TB, ts *testServer, grpcWeb bool) caller {
	client := h2c(t)
	name := "connect"
	opts := []connect.ClientOption{connect.WithProtoJSON()}
	if grpcWeb {
		client = http1(t)
		name = "grpc-web"
		opts = []connect.ClientOption{connect.WithGRPCWeb()}
	}
	get := connect.NewClient[shopv1.GetProductRequest, shopv1.Product](client, ts.base+"/shop.v1.Catalog/GetProduct", opts...)
	list := connect.NewClient[shopv1.ListProductsRequest, shopv1.ListProductsResponse](client, ts.base+"/shop.v1.Catalog/ListProducts", opts...)
	create := connect.NewClient[shopv1.CreateProductRequest, shopv1.Product](client, ts.base+"/shop.v1.Catalog/CreateProduct", opts...)
	customers := connect.NewClient[shopv1.ListCustomersRequest, shopv1.Customer](client, ts.base+"/shop.v1.Customers/ListCustomers", opts...)
	watch := connect.NewClient[shopv1.WatchProductsRequest, shopv1.ProductEvent](client, ts.base+"/shop.v1.Catalog/WatchProducts", opts...)
	return caller{
		name: name,
		getProduct: func(ctx context.Context, req *shopv1.GetProductRequest) (*shopv1.Product, error) {
			resp, err := get.CallUnary(ctx, connect.NewRequest(req))
			if err != nil {
				return nil, connectToStatus(err)
			}
			return resp.Msg, nil
		},
		listProducts: func(ctx context.Context, req *shopv1.ListProductsRequest) (*shopv1.ListProductsResponse, error) {
			resp, err := list.CallUnary(ctx, connect.NewRequest(req))
			if err != nil {
				return nil, connectToStatus(err)
			}
			return resp.Msg, nil
		},
		createProduct: func(ctx context.Context, req *shopv1.CreateProductRequest) (*shopv1.Product, error) {
			resp, err := create.CallUnary(ctx, connect.NewRequest(req))
			if err != nil {
				return nil, connectToStatus(err)
			}
			return resp.Msg, nil
		},
		listCustomers: func(ctx context.Context, req *shopv1.ListCustomersRequest) ([]*shopv1.Customer, error) {
			stream, err := customers.CallServerStream(ctx, connect.NewRequest(req))
			if err != nil {
				return nil, connectToStatus(err)
			}
			defer stream.Close()
			var all []*shopv1.Customer
			for stream.Receive() {
				all = append(all, stream.Msg())
			}
			if err := stream.Err(); err != nil {
				return all, connectToStatus(err)
			}
			return all, nil
		},
		watchBadCategory: func(ctx context.Context) error {
			stream, err := watch.CallServerStream(ctx, connect.NewRequest(&shopv1.WatchProductsRequest{Categories: []shopv1.ProductCategory{99}}))
			if err != nil {
				return connectToStatus(err)
			}
			defer stream.Close()
			for stream.Receive() {
			}
			return connectToStatus(stream.Err())
		},
	}
}

// connectToStatus turns a connect error into the gRPC status error with the
// same code, message and details.
func connectToStatus(err error) error {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err
	}
	st := &spb.Status{Code: int32(ce.Code()), Message: ce.Message()}
	for _, d := range ce.Details() {
		msg, derr := d.Value()
		if derr != nil {
			return derr
		}
		a, aerr := anypb.New(msg)
		if aerr != nil {
			return aerr
		}
		st.Details = append(st.Details, a)
	}
	return status.FromProto(st).Err()
}

// restCaller calls the google.api.http routes with net/http over HTTP/1.1,
// JSON bodies, and turns error bodies (google.rpc.Status) into status
// errors.
func restCaller(t testing.TB, ts *testServer) caller {
	client := http1(t)
	return caller{
		name: "rest",
		getProduct: func(ctx context.Context, req *shopv1.GetProductRequest) (*shopv1.Product, error) {
			out := new(shopv1.Product)
			return out, restCall(ctx, client, http.MethodGet, ts.base+"/v1/products/"+req.GetName(), nil, out, nil)
		},
		listProducts: func(ctx context.Context, req *shopv1.ListProductsRequest) (*shopv1.ListProductsResponse, error) {
			out := new(shopv1.ListProductsResponse)
			query := url.Values{"page_size": {strconv.Itoa(int(req.GetPageSize()))}, "page_token": {req.GetPageToken()}}
			return out, restCall(ctx, client, http.MethodGet, ts.base+"/v1/products?"+query.Encode(), nil, out, nil)
		},
		createProduct: func(ctx context.Context, req *shopv1.CreateProductRequest) (*shopv1.Product, error) {
			out := new(shopv1.Product)
			query := url.Values{"product_id": {req.GetProductId()}}
			return out, restCall(ctx, client, http.MethodPost, ts.base+"/v1/products?"+query.Encode(), req.GetProduct(), out, nil)
		},
	}
}

// restCall sends body (if any) as JSON, decodes a 2xx answer into out and
// any other into a status error, checking that the HTTP status is the one
// the code maps to.
func restCall(ctx context.Context, client *http.Client, method, target string, body, out proto.Message, header http.Header) error {
	var rd io.Reader
	if body != nil {
		b, err := protojson.Marshal(body)
		if err != nil {
			return err
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusOK {
		return protojson.Unmarshal(data, out)
	}
	return restError(resp.StatusCode, data)
}

// restError decodes a REST error body, a google.rpc.Status in JSON, and
// checks the HTTP status against its code.
func restError(httpStatus int, data []byte) error {
	var st spb.Status
	if err := protojson.Unmarshal(data, &st); err != nil {
		return errors.New("REST error body is not a google.rpc.Status: " + err.Error() + ": " + string(data))
	}
	s := status.FromProto(&st)
	if want := httpStatusOf(s.Code()); httpStatus != want {
		return errors.New("HTTP status " + http.StatusText(httpStatus) + " for " + s.Code().String() + ", want " + http.StatusText(want))
	}
	return s.Err()
}

// httpStatusOf is the standard mapping of google/rpc/code.proto.
func httpStatusOf(c codes.Code) int {
	switch c {
	case codes.OK:
		return 200
	case codes.Canceled:
		return 499
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return 400
	case codes.DeadlineExceeded:
		return 504
	case codes.NotFound:
		return 404
	case codes.AlreadyExists, codes.Aborted:
		return 409
	case codes.PermissionDenied:
		return 403
	case codes.Unauthenticated:
		return 401
	case codes.ResourceExhausted:
		return 429
	case codes.Unimplemented:
		return 501
	case codes.Unavailable:
		return 503
	default:
		return 500
	}
}

func protocols(t *testing.T, ts *testServer) []caller {
	return []caller{grpcCaller(ts), connectCaller(t, ts, false), connectCaller(t, ts, true), restCaller(t, ts)}
}

func eur(minor int64) *shopv1.Money { return &shopv1.Money{CurrencyCode: "EUR", MinorUnits: minor} }

// TestSameCallEveryProtocol makes the same calls through gRPC, Connect,
// gRPC-Web and REST on one port and expects the same results and codes.
func TestSameCallEveryProtocol(t *testing.T) {
	ts := start(t)
	ctx := t.Context()
	g := grpcCaller(ts)
	for i, name := range []string{"espresso", "grinder", "kettle"} {
		if _, err := g.createProduct(ctx, &shopv1.CreateProductRequest{ProductId: name, Product: &shopv1.Product{Title: name, Price: eur(int64(1000 * (i + 1)))}}); err != nil {
			t.Fatal(err)
		}
	}
	customers := shopv1.NewCustomersClient(ts.grpc)
	for _, n := range []string{"Ada", "Grace", "Barbara"} {
		if _, err := customers.CreateCustomer(ctx, &shopv1.CreateCustomerRequest{DisplayName: n, Email: strings.ToLower(n) + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}

	want, err := g.getProduct(ctx, &shopv1.GetProductRequest{Name: "grinder"})
	if err != nil {
		t.Fatal(err)
	}
	firstPage, err := g.listProducts(ctx, &shopv1.ListProductsRequest{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	allCustomers, err := g.listCustomers(ctx, &shopv1.ListCustomersRequest{PageSize: 2})
	if err != nil || len(allCustomers) != 3 {
		t.Fatalf("grpc ListCustomers = %d customers, %v; want 3", len(allCustomers), err)
	}

	for _, c := range protocols(t, ts) {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.getProduct(ctx, &shopv1.GetProductRequest{Name: "grinder"})
			if err != nil {
				t.Fatalf("GetProduct: %v", err)
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("GetProduct differs from gRPC (-grpc +%s):\n%s", c.name, diff)
			}
			page, err := c.listProducts(ctx, &shopv1.ListProductsRequest{PageSize: 2})
			if err != nil {
				t.Fatalf("ListProducts: %v", err)
			}
			if diff := cmp.Diff(firstPage, page, protocmp.Transform()); diff != "" {
				t.Errorf("ListProducts differs from gRPC:\n%s", diff)
			}
			next, err := c.listProducts(ctx, &shopv1.ListProductsRequest{PageSize: 2, PageToken: page.GetNextPageToken()})
			if err != nil || len(next.GetProducts()) != 1 || next.GetProducts()[0].GetName() != "kettle" || next.GetNextPageToken() != "" {
				t.Errorf("second page = %v, %v; want kettle alone", next, err)
			}

			_, err = c.getProduct(ctx, &shopv1.GetProductRequest{Name: "missing"})
			wantStatus(t, "GetProduct(missing)", err, codes.NotFound, `shop.v1.Product "missing" not found`)
			_, err = c.listProducts(ctx, &shopv1.ListProductsRequest{PageToken: "forged"})
			wantStatus(t, "ListProducts(forged token)", err, codes.InvalidArgument, "")
			_, err = c.createProduct(ctx, &shopv1.CreateProductRequest{ProductId: "espresso", Product: &shopv1.Product{Title: "again"}})
			wantStatus(t, "CreateProduct(existing)", err, codes.AlreadyExists, "")

			if c.listCustomers == nil {
				return // REST: server streams have no google.api.http rule
			}
			got2, err := c.listCustomers(ctx, &shopv1.ListCustomersRequest{PageSize: 2})
			if err != nil {
				t.Fatalf("ListCustomers: %v", err)
			}
			if diff := cmp.Diff(allCustomers, got2, protocmp.Transform()); diff != "" {
				t.Errorf("ListCustomers stream differs from gRPC:\n%s", diff)
			}
			err = c.watchBadCategory(ctx)
			wantStatus(t, "WatchProducts(bad category)", err, codes.InvalidArgument, "categories: 99 is not a product category")
		})
	}
}

func wantStatus(t *testing.T, call string, err error, code codes.Code, msg string) *status.Status {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Errorf("%s: %v, not a status error", call, err)
		return nil
	}
	if st.Code() != code || (msg != "" && st.Message() != msg) {
		t.Errorf("%s: %v %q, want %v %q", call, st.Code(), st.Message(), code, msg)
	}
	return st
}

// TestErrorsEveryProtocol checks a panic, an authentication failure and a
// validation error (with its details) in every protocol, and the HTTP
// status and body REST and Connect clients see.
func TestErrorsEveryProtocol(t *testing.T) {
	ts := start(t)
	ctx := t.Context()
	for _, c := range protocols(t, ts) {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.getProduct(ctx, &shopv1.GetProductRequest{Name: "panic"})
			wantStatus(t, "panic", err, codes.Internal, "internal error in /shop.v1.Catalog/GetProduct")

			_, err = c.createProduct(ctx, &shopv1.CreateProductRequest{ProductId: "untitled", Product: &shopv1.Product{}})
			st := wantStatus(t, "validation", err, codes.InvalidArgument, "invalid CreateProductRequest")
			if st == nil {
				return
			}
			want := []any{&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "product.title", Description: "must not be empty"}}}}
			if diff := cmp.Diff(want, st.Details(), protocmp.Transform()); diff != "" {
				t.Errorf("validation error details (-want +got):\n%s", diff)
			}
		})
	}

	// Authentication, and the exact HTTP answers, from the wire.
	client := http1(t)
	for _, tc := range []struct {
		name, method, path, contentType, body string
		header                                map[string]string
		wantStatus                            int
		wantBody                              string
	}{
		{"rest panic", "GET", "/v1/products/panic", "", "", nil,
			500, `{"code":13,"message":"internal error in /shop.v1.Catalog/GetProduct","details":[]}`},
		{"connect panic", "POST", "/shop.v1.Catalog/GetProduct", "application/json", `{"name":"panic"}`, nil,
			500, `{"code":"internal","message":"internal error in /shop.v1.Catalog/GetProduct"}`},
		{"rest auth", "GET", "/v1/products", "", "", map[string]string{"Authorization": "Bearer wrong"},
			401, `{"code":16,"message":"invalid token","details":[]}`},
		{"connect auth", "POST", "/shop.v1.Catalog/ListProducts", "application/json", `{}`, map[string]string{"Authorization": "Bearer wrong"},
			401, `{"code":"unauthenticated","message":"invalid token"}`},
		{"rest validation", "POST", "/v1/products?product_id=x", "application/json", `{}`, nil,
			400, `{"code":3,"message":"invalid CreateProductRequest","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"product.title","description":"must not be empty","reason":"","localizedMessage":null}]}]}`},
		{"connect not found", "POST", "/shop.v1.Catalog/GetProduct", "application/json", `{"name":"nope"}`, nil,
			404, `{"code":"not_found","message":"shop.v1.Product \"nope\" not found"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, tc.method, ts.base+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus || compactJSON(string(body)) != tc.wantBody {
				t.Errorf("%s %s: %d %s\nwant %d %s", tc.method, tc.path, resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
		})
	}

	// gRPC and gRPC-Web carry the authorization metadata too.
	md := metadata.Pairs("authorization", "Bearer wrong")
	_, err := shopv1.NewCatalogClient(ts.grpc).ListProducts(metadata.NewOutgoingContext(ctx, md), &shopv1.ListProductsRequest{})
	wantStatus(t, "grpc auth", err, codes.Unauthenticated, "invalid token")
	web := connect.NewClient[shopv1.ListProductsRequest, shopv1.ListProductsResponse](http1(t), ts.base+"/shop.v1.Catalog/ListProducts", connect.WithGRPCWeb())
	req := connect.NewRequest(&shopv1.ListProductsRequest{})
	req.Header().Set("Authorization", "Bearer wrong")
	_, err = web.CallUnary(ctx, req)
	wantStatus(t, "grpc-web auth", connectToStatus(err), codes.Unauthenticated, "invalid token")
}

// compactJSON removes the spaces protojson puts (randomly) after separators,
// outside strings.
func compactJSON(s string) string {
	var b strings.Builder
	inString, escaped := false, false
	for _, r := range s {
		switch {
		case inString:
			b.WriteRune(r)
			if escaped {
				escaped = false
			} else if r == '\\' {
				escaped = true
			} else if r == '"' {
				inString = false
			}
		case r == '"':
			inString = true
			b.WriteRune(r)
		case r == ' ' || r == '\n' || r == '\t':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestDeadlines checks that the deadline an HTTP client sets reaches the
// handler's context, in each protocol's way, and that a client that hangs up
// cancels the call.
func TestDeadlines(t *testing.T) {
	ts := start(t)
	for _, c := range protocols(t, ts)[:3] {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			_, err := c.getProduct(ctx, &shopv1.GetProductRequest{Name: "block"})
			wantStatus(t, "GetProduct(block)", err, codes.DeadlineExceeded, "")
			wantBlocked(t, ts, true)
		})
	}
	t.Run("rest X-Server-Timeout", func(t *testing.T) {
		err := restCall(t.Context(), http1(t), http.MethodGet, ts.base+"/v1/products/block", nil, new(shopv1.Product),
			http.Header{"X-Server-Timeout": {"0.2"}})
		wantStatus(t, "GetProduct(block)", err, codes.DeadlineExceeded, "")
		wantBlocked(t, ts, true)
	})
	t.Run("rest client timeout", func(t *testing.T) {
		client := http1(t)
		client.Timeout = 200 * time.Millisecond
		err := restCall(t.Context(), client, http.MethodGet, ts.base+"/v1/products/block", nil, new(shopv1.Product), nil)
		if err == nil {
			t.Fatal("no error after the client's timeout")
		}
		wantBlocked(t, ts, false)
	})
}

func wantBlocked(t *testing.T, ts *testServer, deadline bool) {
	t.Helper()
	select {
	case b := <-ts.catalog.blocked:
		if b.hadDeadline != deadline || b.err == nil {
			t.Errorf("handler context: deadline %v, ended with %v; want deadline %v and an error", b.hadDeadline, b.err, deadline)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's context did not end")
	}
}

// TestGracefulStop cancels Serve's context while calls are in flight in
// several protocols: they finish, Serve returns nil, and the port is closed.
func TestGracefulStop(t *testing.T) {
	ts := start(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for _, c := range protocols(t, ts)[1:] {
		wg.Go(func() {
			p, err := c.getProduct(ctx, &shopv1.GetProductRequest{Name: "sleep"})
			if err == nil && p.GetName() != "sleep" {
				err = errors.New("wrong product")
			}
			if err != nil {
				errs <- errors.New(c.name + ": " + err.Error())
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	if err := ts.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("call in flight during the stop: %v", err)
	}
	if conn, err := net.Dial("tcp", ts.addr); err == nil {
		conn.Close()
		t.Error("the port still accepts connections after Serve returned")
	}
}

// TestMethodWithoutRule calls a unary method that has no google.api.http
// rule (the health service's Check) through Connect and gRPC-Web; REST has
// no route for it.
func TestMethodWithoutRule(t *testing.T) {
	ts := start(t)
	ctx := t.Context()
	for _, opts := range [][]connect.ClientOption{{connect.WithProtoJSON()}, {connect.WithGRPCWeb()}} {
		check := connect.NewClient[healthpb.HealthCheckRequest, healthpb.HealthCheckResponse](http1(t), ts.base+"/grpc.health.v1.Health/Check", opts...)
		resp, err := check.CallUnary(ctx, connect.NewRequest(&healthpb.HealthCheckRequest{Service: "shop.v1.Catalog"}))
		if err != nil || resp.Msg.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check: %v, %v; want SERVING", resp, err)
		}
	}
	res, err := http1(t).Get(ts.base + "/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v1/health: %d, want 404", res.StatusCode)
	}
}

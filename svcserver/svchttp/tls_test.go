package svchttp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/svcserver/svchttp"
)

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "svchttp test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// TestTLS serves with WithTLSConfig: gRPC, Connect over HTTP/2 (ALPN h2) and
// REST over HTTP/1.1 reach the same service.
func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	ts := start(t, svchttp.WithTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	ctx := t.Context()
	base := "https://" + ts.addr

	conn, err := grpc.NewClient(ts.addr, grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, "")))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = shopv1.NewCatalogClient(conn).CreateProduct(ctx, &shopv1.CreateProductRequest{ProductId: "espresso", Product: &shopv1.Product{Title: "Espresso"}})
	if err != nil {
		t.Fatalf("gRPC over TLS: %v", err)
	}

	h2 := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer h2.CloseIdleConnections()
	get := connect.NewClient[shopv1.GetProductRequest, shopv1.Product](&http.Client{Transport: h2}, base+"/shop.v1.Catalog/GetProduct")
	resp, err := get.CallUnary(ctx, connect.NewRequest(&shopv1.GetProductRequest{Name: "espresso"}))
	if err != nil || resp.Msg.GetTitle() != "Espresso" {
		t.Fatalf("Connect over TLS: %v, %v", resp, err)
	}

	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	h1 := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, Protocols: protocols}
	defer h1.CloseIdleConnections()
	for _, tr := range []*http.Transport{h1, h2} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/products/missing", nil)
		res, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("REST over %s: status %d, want 404", res.Proto, res.StatusCode)
		}
	}
	_, err = get.CallUnary(ctx, connect.NewRequest(&shopv1.GetProductRequest{Name: "missing"}))
	if connect.CodeOf(err) != connect.Code(codes.NotFound) {
		t.Errorf("Connect over TLS, missing product: %v", err)
	}

	// A cleartext client gets no answer from the TLS port.
	res, err := http1(t).Get(ts.base + "/v1/products")
	if err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("cleartext request to the TLS port: %d", res.StatusCode)
		}
	}
}

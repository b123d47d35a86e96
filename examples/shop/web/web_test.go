package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/svcgen/protoc-gen-svc/examples/shop/web"
)

// TestHandler checks what the page is served with, without a browser.
func TestHandler(t *testing.T) {
	h := web.Handler()
	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
		contains     string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", `<script src="app.js" defer></script>`},
		{"GET", "/app.js", 200, "text/javascript; charset=utf-8", `"/v1/products"`},
		{"GET", "/style.css", 200, "text/css; charset=utf-8", "table"},
		{"HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/missing", 404, "text/plain; charset=utf-8", "404 page not found"},
		{"POST", "/", 404, "text/plain; charset=utf-8", "404 page not found"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		res := rec.Result()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != tc.status || res.Header.Get("Content-Type") != tc.contentType || !strings.Contains(string(body), tc.contains) {
			t.Errorf("%s %s: %d %q %.80q; want %d %q containing %q", tc.method, tc.path, res.StatusCode, res.Header.Get("Content-Type"), body, tc.status, tc.contentType, tc.contains)
		}
		if res.StatusCode == http.StatusOK && res.Header.Get("Content-Security-Policy") != "default-src 'self'" {
			t.Errorf("%s %s: Content-Security-Policy %q", tc.method, tc.path, res.Header.Get("Content-Security-Policy"))
		}
	}
}

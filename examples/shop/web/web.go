// Package web is the shop's web page: plain HTML and a little JavaScript,
// embedded in the binary, no build step. The page lists the catalog page by
// page and creates products, calling shop.v1.Catalog from the browser
// through REST (the google.api.http routes) or the Connect protocol, as the
// user picks. shopd serves it at "/" beside the API (server.ServeHTTP).
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the page and its script to GET and HEAD requests, and 404
// to everything else.
func Handler() http.Handler {
	root, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

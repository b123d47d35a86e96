// Package templates holds the shape of every Go file protoc-gen-svc
// generates, as text/template files embedded in the plugin: one
// <artifact>.go.tmpl per output file (server, repo, client).
//
// Where the line is: a template holds the layout of a file — declarations,
// doc comments, the statements every method of a kind shares — over view
// data that internal/gen computes from the model, with no logic beyond
// range and if over that data. Identifiers of other packages are written
// with the ident function, which goes through
// protogen.GeneratedFile.QualifiedGoIdent, so protogen manages the imports
// and no template spells a package name. The bodies of standard methods,
// which are mostly decisions (which field carries the key, how a request
// becomes a resource), are written in Go beside the shape that recognises
// them (internal/gen/std_*.go) and reach the template as text.
package templates

import "embed"

// FS holds the templates, *.go.tmpl.
//
//go:embed *.go.tmpl
var FS embed.FS

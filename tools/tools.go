//go:build tools

// Package tools records the tool dependencies of this repository so that
// `go run -modfile=tools/go.mod <tool>` uses the versions pinned here.
package tools

import (
	_ "github.com/bufbuild/buf/cmd/buf"
	_ "google.golang.org/grpc/cmd/protoc-gen-go-grpc"
	_ "google.golang.org/protobuf/cmd/protoc-gen-go"
	_ "honnef.co/go/tools/cmd/staticcheck"
)

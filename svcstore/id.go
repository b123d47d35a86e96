package svcstore

import "github.com/svcgen/protoc-gen-svc/svcstore/internal/core"

// NewID returns a new random id (122 random bits, UUIDv4-shaped), the same
// kind a store assigns to a resource created without a key. Generated
// skeletons use it to name a resource created under a parent
// (shelves/1/books/<id>), whose key the store cannot compose.
func NewID() string { return core.RandomID() }

package svcstore

import "github.com/svcgen/protoc-gen-svc/svcstore/internal/core"

// NewID returns a new time-ordered, unguessable id (a UUIDv7: a millisecond
// timestamp, a counter that keeps the ids of one process strictly
// increasing, and 62 random bits), the same kind a store assigns to a
// resource created without a key, so key order is creation order. Generated
// skeletons use it to name a resource created under a parent
// (shelves/1/books/<id>), whose key the store cannot compose.
func NewID() string { return core.RandomID() }

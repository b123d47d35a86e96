// This file is user code, compiled into the generated resources package by
// TestGoldensCompile: it embeds a skeleton that serves standard methods from
// in-memory repositories and overrides one non-standard method.
package resources

import (
	"context"

	"google.golang.org/grpc"
)

type userLibrary struct {
	LibrarySkeleton
}

func (l userLibrary) Recommend(ctx context.Context, req *GetBookRequest) (*Book, error) {
	return l.GetBook(ctx, req)
}

// RegisterUserLibrary registers the user's implementation on in-memory
// repositories, and a skeleton with a repository of the user's choosing.
func RegisterUserLibrary(s grpc.ServiceRegistrar) {
	RegisterLibraryServer(s, userLibrary{NewInMemoryLibrarySkeleton()})
	RegisterShelvesServer(s, NewShelvesSkeleton(ShelvesRepositories{Shelf: NewInMemoryShelfRepository()}))
}

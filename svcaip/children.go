package svcaip

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/svcgen/protoc-gen-svc/svcstore"
)

// deleteChildrenPage is how many children one List of DeleteChildren reads.
const deleteChildrenPage = 100

// DeleteChildren is AIP-135's force for one child collection of a resource
// being deleted: the children are the resources of repo whose keys start
// with parent + "/" + collection + "/" ("publishers/p/books/"). Without
// force, any child makes the Delete FailedPrecondition; with force, every
// child is deleted first. key returns a child's key. The deletes are not one
// transaction with the parent's: a child created meanwhile may outlive it,
// as in any store without cascades. A nil repo has no children.
func DeleteChildren[M proto.Message](ctx context.Context, repo svcstore.Repository[M], parent, collection string, force bool,
	key func(M) string) error {
	if repo == nil {
		return nil
	}
	for {
		page, _, err := repo.List(svcstore.ReadFresh(ctx), deleteChildrenPage, "", svcstore.KeyPrefix(parent+"/"+collection+"/"))
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		if !force {
			return status.Errorf(codes.FailedPrecondition, "%s has %s in %s; delete them first, or set force to delete them with it", shown(parent), childrenWord(len(page)), collection)
		}
		for _, child := range page {
			if _, err := repo.Delete(ctx, key(child), ""); err != nil && status.Code(err) != codes.NotFound {
				return err
			}
		}
	}
}

func childrenWord(n int) string {
	if n >= deleteChildrenPage {
		return fmt.Sprintf("at least %d children", n)
	}
	if n == 1 {
		return "a child"
	}
	return fmt.Sprintf("%d children", n)
}

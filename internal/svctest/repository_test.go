package svctest

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/svcgen/protoc-gen-svc/internal/svctest/echopb"
)

func TestScratchMaskedUpdateRace(t *testing.T) {
	ctx := context.Background()
	repo := echopb.NewInMemoryBookRepository()
	if _, err := repo.Create(ctx, &echopb.Book{Name: "b", Title: "t0"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range 2000 {
			if _, err := repo.Update(ctx, &echopb.Book{Name: "b", Title: "t1"}, &fieldmaskpb.FieldMask{Paths: []string{"title"}}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range 2000 {
			if _, err := repo.Get(ctx, "b"); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
}

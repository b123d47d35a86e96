// Behaviour test of a List whose page_token shares a oneof with an offset
// (testdata/protos/shapes' Pages, as ResultStore's Lists have it), served
// over a real gRPC connection (bufconn) and called through the generated
// wrapper: the token pages, the offset is refused.
package shapes

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestPageTokenInOneof(t *testing.T) {
	ctx := context.Background()
	c := StartPagesForTest(t, NewInMemoryPagesSkeleton())
	for _, name := range []string{"notes/a", "notes/b", "notes/c"} {
		if _, err := c.CreateNote(ctx, &Note{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	req := &ListNotesFromRequest{PageSize: 2}
	for range 3 {
		page, err := c.ListNotes(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range page.GetNotes() {
			seen = append(seen, n.GetName())
		}
		if page.GetNextPageToken() == "" {
			break
		}
		req = &ListNotesFromRequest{PageSize: 2, PageStart: &ListNotesFromRequest_PageToken{PageToken: page.GetNextPageToken()}}
	}
	if len(seen) != 3 || seen[0] != "notes/a" || seen[2] != "notes/c" {
		t.Fatalf("pages held %v; want notes/a, notes/b, notes/c", seen)
	}
	_, err := c.ListNotes(ctx, &ListNotesFromRequest{PageStart: &ListNotesFromRequest_Offset{Offset: 1}})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("ListNotes from an offset = %v; want Unimplemented", err)
	}
}

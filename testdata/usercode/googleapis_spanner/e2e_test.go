// Behaviour test of a parent held in a field named after it
// (testdata/protos/googleapis_spanner, trimmed from Cloud Spanner), served
// over a real gRPC connection (bufconn) and called through the generated
// wrapper.
package spanner

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("error %v: code %v, want %v", err, got, want)
	}
}

func TestSessionsUnderDatabase(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartSpannerForTest(t, NewInMemorySpannerSkeleton())
	const orders, users = "projects/p/instances/i/databases/orders", "projects/p/instances/i/databases/users"
	var created []string
	for _, db := range []string{orders, users, orders} {
		s, err := c.CreateSession(ctx, &CreateSessionRequest{Database: db, Session: &Session{Labels: map[string]string{"app": "shop"}}})
		if err != nil || !strings.HasPrefix(s.GetName(), db+"/sessions/") {
			t.Fatalf("CreateSession(database: %s) = %v, %v", db, s, err)
		}
		created = append(created, s.GetName())
	}
	page, err := c.ListSessions(ctx, &ListSessionsRequest{Database: orders})
	if err != nil || len(page.GetSessions()) != 2 || page.GetSessions()[0].GetName() != created[0] || page.GetSessions()[1].GetName() != created[2] {
		t.Fatalf("ListSessions(database: orders) = %v, %v; want its two, in creation order", page, err)
	}
	// database must be a Database's name: another form is refused naming
	// the field, and nothing is stored.
	_, err = c.CreateSession(ctx, &CreateSessionRequest{Database: "projects/p/instances/i", Session: &Session{}})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "projects/p/instances/i") {
		t.Fatalf("CreateSession under an instance: %v", err)
	}
	_, err = c.ListSessions(ctx, &ListSessionsRequest{})
	wantCode(t, err, codes.InvalidArgument)
	if _, err := c.DeleteSession(ctx, &DeleteSessionRequest{Name: created[1]}); err != nil {
		t.Fatal(err)
	}
	page, err = c.ListSessions(ctx, &ListSessionsRequest{Database: users})
	if err != nil || len(page.GetSessions()) != 0 {
		t.Fatalf("ListSessions(database: users) after its delete = %v, %v", page, err)
	}
}

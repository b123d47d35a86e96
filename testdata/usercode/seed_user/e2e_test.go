// Behaviour test of the user.v1 seed, compiled into the generated package by
// TestGoldensCompile: the skeleton on in-memory repositories, served over a
// real gRPC connection (bufconn) and called through the generated wrapper.
package userv1

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("error %v: code %v, want %v", err, got, want)
	}
}

func TestUserService(t *testing.T) {
	ctx := context.Background()
	c := StartUserServiceForTest(t, NewInMemoryUserServiceSkeleton())

	// Keyed by id, not by the display name: two users called Ada.
	var ids []string
	for _, email := range []string{"ada@example.com", "ada@example.org"} {
		res, err := c.CreateUser(ctx, &CreateUserRequest{Email: email, Name: "Ada", Role: UserRole_USER_ROLE_MEMBER})
		if err != nil {
			t.Fatal(err)
		}
		u := res.GetUser()
		if u.GetId() == "" || u.GetName() != "Ada" || u.GetEmail() != email || u.GetCreatedAt() == nil || u.GetUpdatedAt() == nil {
			t.Fatalf("created %v", u)
		}
		ids = append(ids, u.GetId())
	}
	if ids[0] == ids[1] {
		t.Fatalf("two users share the id %s", ids[0])
	}

	got, err := c.GetUser(ctx, &GetUserRequest{Id: ids[0]})
	if err != nil || got.GetUser().GetEmail() != "ada@example.com" {
		t.Fatalf("GetUser = %v, %v", got, err)
	}

	// Only the fields the request sets change.
	email := "ada@lovelace.org"
	upd, err := c.UpdateUser(ctx, &UpdateUserRequest{Id: ids[0], Email: &email})
	if err != nil {
		t.Fatal(err)
	}
	if u := upd.GetUser(); u.GetEmail() != email || u.GetName() != "Ada" || u.GetRole() != UserRole_USER_ROLE_MEMBER {
		t.Fatalf("updated %v", u)
	}
	empty := ""
	upd, err = c.UpdateUser(ctx, &UpdateUserRequest{Id: ids[0], Name: &empty})
	if err != nil || upd.GetUser().GetName() != "" || upd.GetUser().GetEmail() != email {
		t.Fatalf("clearing the name: %v, %v", upd, err)
	}
	_, err = c.UpdateUser(ctx, &UpdateUserRequest{Id: "nobody", Email: &email})
	wantCode(t, err, codes.NotFound)

	// A batch is stored whole, and answered with the users and their count.
	stream, err := c.BatchCreateUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Grace", "Edsger", "Barbara"} {
		if err := stream.Send(&CreateUserRequest{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	batch, err := stream.CloseAndRecv()
	if err != nil || batch.GetCreatedCount() != 3 || len(batch.GetUsers()) != 3 || batch.GetUsers()[2].GetName() != "Barbara" {
		t.Fatalf("BatchCreateUsers = %v, %v", batch, err)
	}

	// A batch whose answer would not fit a client's message is refused before
	// anything is stored.
	stream, err = c.BatchCreateUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 1024)
	for i := 0; i < 5000; i++ {
		if err := stream.Send(&CreateUserRequest{Name: big}); err != nil {
			break // the server may already have answered
		}
	}
	_, err = stream.CloseAndRecv()
	wantCode(t, err, codes.ResourceExhausted)

	// The stream lists everyone, in key order, whatever the page size.
	var listed []string
	for u, err := range c.ListUsersSeq(ctx, &ListUsersRequest{PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, u.GetId())
	}
	if len(listed) != 5 {
		t.Fatalf("listed %d users, want 5 (the refused batch stored nothing)", len(listed))
	}
	for i := 1; i < len(listed); i++ {
		if listed[i-1] >= listed[i] {
			t.Fatalf("not in key order: %v", listed)
		}
	}

	if _, err := c.DeleteUser(ctx, &DeleteUserRequest{Id: ids[1]}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUser(ctx, &GetUserRequest{Id: ids[1]})
	wantCode(t, err, codes.NotFound)
	_, err = c.DeleteUser(ctx, &DeleteUserRequest{Id: ids[1]})
	wantCode(t, err, codes.NotFound)

	sync, err := c.SyncUsers(ctx)
	if err == nil {
		_, err = sync.Recv()
	}
	wantCode(t, err, codes.Unimplemented)
}

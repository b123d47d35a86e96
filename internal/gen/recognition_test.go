package gen

import (
	"github.com/svcgen/protoc-gen-svc/internal/testenv"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

// explained runs the plugin with explain=true and returns, per method full
// name, the report's account of it ("served from ..." or "Unimplemented:
// ...").
func explained(t *testing.T, req *pluginpb.CodeGeneratorRequest) map[string]string {
	t.Helper()
	req = proto.CloneOf(req)
	req.Parameter = proto.String(req.GetParameter() + ",explain=true")
	resp, lines := RespondWithReport(req)
	if resp.Error != nil {
		t.Fatal(resp.GetError())
	}
	out := map[string]string{}
	for _, line := range lines {
		if strings.HasPrefix(line, "warning: ") {
			continue
		}
		// path: full.Method: account
		_, rest, _ := strings.Cut(line, ": ")
		method, account, ok := strings.Cut(rest, ": ")
		if !ok {
			t.Fatalf("report line %q is not path: method: account", line)
		}
		out[method] = account
	}
	return out
}

// wantServed checks that exactly the listed methods of a service are served.
func wantServed(t *testing.T, report map[string]string, service string, served ...string) {
	t.Helper()
	var got []string
	for method, account := range report {
		name, ok := strings.CutPrefix(method, service+".")
		if !ok {
			continue
		}
		if strings.HasPrefix(account, "served from ") {
			got = append(got, name)
		}
	}
	slices.Sort(got)
	slices.Sort(served)
	if !slices.Equal(got, served) {
		for method, account := range report {
			if strings.HasPrefix(method, service+".") {
				t.Logf("%s: %s", method, account)
			}
		}
		t.Errorf("%s: served %v, want %v", service, got, served)
	}
}

// TestRecognitionSeeds checks which methods of our design documents' protos
// are served, and that every other one says why not.
func TestRecognitionSeeds(t *testing.T) {
	user := explained(t, fixtureRequest(t, "seed_user"))
	wantServed(t, user, "user.v1.UserService", "GetUser", "CreateUser", "UpdateUser", "DeleteUser", "ListUsers", "BatchCreateUsers")
	if got := user["user.v1.UserService.SyncUsers"]; !strings.Contains(got, "Unimplemented: ") {
		t.Errorf("SyncUsers: %q, want a reason", got)
	}
	shop := explained(t, fixtureRequest(t, "seed_ecommerce"))
	wantServed(t, shop, "ecommerce.ProductService", "GetProduct", "CreateProduct", "UpdateProduct", "DeleteProduct", "ListProducts", "BulkCreateProducts")
	wantServed(t, shop, "ecommerce.OrderService", "CreateOrder", "GetOrder", "ListOrders")
	for _, m := range []string{"ecommerce.ProductService.WatchProduct", "ecommerce.OrderService.UpdateOrderStatus", "ecommerce.OrderService.StreamOrderEvents"} {
		if got := shop[m]; !strings.HasPrefix(got, "Unimplemented: ") || len(got) < 30 {
			t.Errorf("%s: %q, want Unimplemented with a reason", m, got)
		}
	}
	library := explained(t, fixtureRequest(t, "googleapis_library"))
	wantServed(t, library, "google.example.library.v1.LibraryService",
		"CreateShelf", "GetShelf", "ListShelves", "DeleteShelf", "CreateBook", "GetBook", "ListBooks", "DeleteBook", "UpdateBook")
}

// TestRecognitionContainerd checks that the standard methods of
// containerd's services are served.
func TestRecognitionContainerd(t *testing.T) {
	testenv.Slow(t, "downloads containerd's API module")
	var c corpus
	for _, k := range corpora {
		if k.name == "containerd" {
			c = k
		}
	}
	report := explained(t, c.request(t))
	wantServed(t, report, "containerd.services.containers.v1.Containers", "Get", "List", "ListStream", "Create", "Update", "Delete")
	wantServed(t, report, "containerd.services.images.v1.Images", "Get", "List", "Create", "Update", "Delete")
	wantServed(t, report, "containerd.services.namespaces.v1.Namespaces", "Get", "List", "Create", "Update", "Delete")
	wantServed(t, report, "containerd.services.leases.v1.Leases", "Create", "Delete", "List")
	wantServed(t, report, "containerd.services.sandbox.v1.Store", "Create", "Update", "Delete", "List", "Get")
	served := 0
	for _, account := range report {
		if strings.HasPrefix(account, "served from ") {
			served++
		}
	}
	t.Logf("containerd: %d of %d methods served", served, len(report))
}

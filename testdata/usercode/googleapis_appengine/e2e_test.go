// Behaviour test of resources keyed by a first-field name beside an id
// (testdata/protos/googleapis_appengine, trimmed from App Engine Admin),
// served over a real gRPC connection (bufconn) and called through the
// generated wrappers.
package appengine

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("error %v: code %v, want %v", err, got, want)
	}
}

func TestVersionsUnderServices(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartVersionsForTest(t, NewInMemoryVersionsSkeleton())
	var names []string
	for _, v := range []struct{ parent, id string }{{"apps/shop/services/default", "v1"}, {"apps/shop/services/worker", "v1"}, {"apps/shop/services/default", "v2"}} {
		got, err := c.CreateVersion(ctx, &CreateVersionRequest{Parent: v.parent, Version: &Version{Id: v.id, Runtime: "go126"}})
		// The version's own id names it, as App Engine's do.
		if err != nil || got.GetName() != v.parent+"/versions/"+v.id || got.GetId() != v.id {
			t.Fatalf("CreateVersion(%s, id %s) = %v, %v", v.parent, v.id, got, err)
		}
		names = append(names, got.GetName())
	}
	_, err := c.CreateVersion(ctx, &CreateVersionRequest{Parent: "apps/shop/services/default", Version: &Version{Id: "v1"}})
	wantCode(t, err, codes.AlreadyExists)
	_, err = c.CreateVersion(ctx, &CreateVersionRequest{Parent: "apps/shop/services/default", Version: &Version{Id: "v3/x"}})
	wantCode(t, err, codes.InvalidArgument)
	// Without one, the server assigns it, and the version holds it.
	anon, err := c.CreateVersion(ctx, &CreateVersionRequest{Parent: "apps/shop/services/worker", Version: &Version{}})
	if err != nil || anon.GetId() == "" || anon.GetName() != "apps/shop/services/worker/versions/"+anon.GetId() {
		t.Fatalf("CreateVersion without an id = %v, %v; want a server-assigned one, in the name and the id", anon, err)
	}
	page, err := c.ListVersions(ctx, &ListVersionsRequest{Parent: "apps/shop/services/default"})
	if err != nil || len(page.GetVersions()) != 2 {
		t.Fatalf("ListVersions(default) = %v, %v; want its two versions", page, err)
	}
	got, err := c.GetVersion(ctx, &GetVersionRequest{Name: names[1]})
	if err != nil || got.GetRuntime() != "go126" {
		t.Fatalf("GetVersion(%s) = %v, %v", names[1], got, err)
	}
	// The parent is collection/id pairs; anything else is refused.
	_, err = c.ListVersions(ctx, &ListVersionsRequest{Parent: "apps/shop/services"})
	wantCode(t, err, codes.InvalidArgument)
}

func TestServicesByName(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	skeleton := NewInMemoryServicesSkeleton()
	// App Engine makes services by deploying versions: none is created here.
	for _, name := range []string{"apps/shop/services/default", "apps/shop/services/worker", "apps/blog/services/default"} {
		if _, err := skeleton.Repositories().Service.Create(ctx, &Service{Name: name, Id: name[strings.LastIndex(name, "/")+1:]}); err != nil {
			t.Fatal(err)
		}
	}
	c := StartServicesForTest(t, skeleton)
	page, err := c.ListServices(ctx, &ListServicesRequest{Parent: "apps/shop"})
	if err != nil || len(page.GetServices()) != 2 {
		t.Fatalf("ListServices(apps/shop) = %v, %v; want two", page, err)
	}
	split := &TrafficSplit{Allocations: map[string]float64{"v1": 0.5, "v2": 0.5}}
	updated, err := c.UpdateService(ctx, &UpdateServiceRequest{Name: "apps/shop/services/worker", Service: &Service{Split: split}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"split"}}})
	if err != nil || updated.GetId() != "worker" || len(updated.GetSplit().GetAllocations()) != 2 {
		t.Fatalf("UpdateService = %v, %v; want the split set and the id kept", updated, err)
	}
	got, err := c.GetService(ctx, &GetServiceRequest{Name: "apps/shop/services/worker"})
	if err != nil || got.GetSplit().GetAllocations()["v2"] != 0.5 {
		t.Fatalf("GetService = %v, %v", got, err)
	}
	if _, err := c.DeleteService(ctx, &DeleteServiceRequest{Name: "apps/shop/services/worker"}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetService(ctx, &GetServiceRequest{Name: "apps/shop/services/worker"})
	wantCode(t, err, codes.NotFound)
	// The id alone names nothing: the key is the name.
	_, err = c.GetService(ctx, &GetServiceRequest{Name: "default"})
	wantCode(t, err, codes.NotFound)
}

// TestCertificatesListedWhereCreated: the List reads the collection the
// Create writes (authorizedCertificates, from both methods' nouns, though
// the List's field is certificates), and the view's zero value is the
// basic one.
func TestCertificatesListedWhereCreated(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartAuthorizedCertificatesForTest(t, NewInMemoryAuthorizedCertificatesSkeleton())
	cert := &AuthorizedCertificate{DisplayName: "shop", DomainNames: []string{"shop.example.com"}, DomainMappingsCount: 1}
	created, err := c.CreateAuthorizedCertificate(ctx, &CreateAuthorizedCertificateRequest{Parent: "apps/shop", Certificate: cert})
	if err != nil || !strings.HasPrefix(created.GetName(), "apps/shop/authorizedCertificates/") {
		t.Fatalf("CreateAuthorizedCertificate = %v, %v", created, err)
	}
	basic, err := c.ListAuthorizedCertificates(ctx, &ListAuthorizedCertificatesRequest{Parent: "apps/shop"})
	if err != nil || len(basic.GetCertificates()) != 1 {
		t.Fatalf("ListAuthorizedCertificates(apps/shop) = %v, %v; want the one created", basic, err)
	}
	if got := basic.GetCertificates()[0]; got.GetName() != created.GetName() || got.GetDisplayName() != "shop" || got.GetDomainMappingsCount() != 1 || len(got.GetDomainNames()) != 0 {
		t.Fatalf("listed with the zero view BASIC_CERTIFICATE: %v; want the small fields only", got)
	}
	full, err := c.GetAuthorizedCertificate(ctx, &GetAuthorizedCertificateRequest{Name: created.GetName(), View: AuthorizedCertificateView_FULL_CERTIFICATE})
	if err != nil || len(full.GetDomainNames()) != 1 {
		t.Fatalf("GetAuthorizedCertificate(FULL_CERTIFICATE) = %v, %v; want the domains too", full, err)
	}
	other, err := c.ListAuthorizedCertificates(ctx, &ListAuthorizedCertificatesRequest{Parent: "apps/blog"})
	if err != nil || len(other.GetCertificates()) != 0 {
		t.Fatalf("ListAuthorizedCertificates(apps/blog) = %v, %v; want none", other, err)
	}
}

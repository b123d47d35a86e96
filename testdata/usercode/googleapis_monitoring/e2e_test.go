// Behaviour test of a parent carried in name (testdata/protos/
// googleapis_monitoring, trimmed from Cloud Monitoring v3), served over a
// real gRPC connection (bufconn) and called through the generated wrapper.
package monitoring

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

func TestAlertPoliciesUnderName(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartAlertPolicyServiceForTest(t, NewInMemoryAlertPolicyServiceSkeleton())
	var names []string
	for _, parent := range []string{"projects/shop", "folders/ops", "projects/shop"} {
		p, err := c.CreateAlertPolicy(ctx, &CreateAlertPolicyRequest{Name: parent, AlertPolicy: &AlertPolicy{DisplayName: "high latency " + parent}})
		if err != nil || !strings.HasPrefix(p.GetName(), parent+"/alertPolicies/") {
			t.Fatalf("CreateAlertPolicy(name: %s) = %v, %v", parent, p, err)
		}
		names = append(names, p.GetName())
	}
	// Names are created in order (time-ordered ids): newest first.
	page, err := c.ListAlertPolicies(ctx, &ListAlertPoliciesRequest{Name: "projects/shop", OrderBy: "name desc"})
	if err != nil || len(page.GetAlertPolicies()) != 2 || page.GetAlertPolicies()[0].GetName() != names[2] || page.GetAlertPolicies()[1].GetName() != names[0] {
		t.Fatalf("ListAlertPolicies(name: projects/shop, order_by: name desc) = %v, %v; want its two, newest first", page, err)
	}
	page, err = c.ListAlertPolicies(ctx, &ListAlertPoliciesRequest{Name: "folders/ops", Filter: `display_name = "high latency folders/ops"`})
	if err != nil || len(page.GetAlertPolicies()) != 1 || page.GetAlertPolicies()[0].GetName() != names[1] {
		t.Fatalf("ListAlertPolicies(name: folders/ops, filter) = %v, %v", page, err)
	}
	// name is a parent of an AlertPolicy pattern, or the call is refused
	// naming it, and nothing is stored.
	_, err = c.CreateAlertPolicy(ctx, &CreateAlertPolicyRequest{Name: "billingAccounts/b", AlertPolicy: &AlertPolicy{DisplayName: "x"}})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "name") {
		t.Fatalf("CreateAlertPolicy under no pattern's parent: %v", err)
	}
	_, err = c.ListAlertPolicies(ctx, &ListAlertPoliciesRequest{Name: "projects/-"})
	wantCode(t, err, codes.Unimplemented)
	_, err = c.ListAlertPolicies(ctx, &ListAlertPoliciesRequest{})
	wantCode(t, err, codes.InvalidArgument)
	if _, err := c.DeleteAlertPolicy(ctx, &DeleteAlertPolicyRequest{Name: names[0]}); err != nil {
		t.Fatal(err)
	}
	page, err = c.ListAlertPolicies(ctx, &ListAlertPoliciesRequest{Name: "projects/shop"})
	if err != nil || len(page.GetAlertPolicies()) != 1 || page.GetAlertPolicies()[0].GetName() != names[2] {
		t.Fatalf("ListAlertPolicies after a delete = %v, %v", page, err)
	}
}

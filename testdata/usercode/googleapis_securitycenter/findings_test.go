// Behaviour test of a List whose page wraps each resource
// (testdata/protos/googleapis_securitycenter: ListFindingsResponse holds
// ListFindingsResults, each with a finding), served over a real gRPC
// connection (bufconn) and called through the generated wrapper, whose
// pager yields the wrapping results.
package googleapis_securitycenter

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestWrappedFindings(t *testing.T) {
	ctx := context.Background()
	c := StartSecurityCenterForTest(t, NewInMemorySecurityCenterSkeleton())
	const source = "organizations/1/sources/2"
	for _, f := range []struct {
		id       string
		severity Finding_Severity
	}{{"a", Finding_HIGH}, {"b", Finding_LOW}, {"c", Finding_HIGH}} {
		if _, err := c.CreateFinding(ctx, &CreateFindingRequest{Parent: source, FindingId: f.id, Finding: &Finding{Category: "XSS", Severity: f.severity}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateFinding(ctx, &CreateFindingRequest{Parent: "organizations/1/sources/other", FindingId: "z", Finding: &Finding{Severity: Finding_HIGH}}); err != nil {
		t.Fatal(err)
	}
	page, err := c.ListFindings(ctx, &ListFindingsRequest{Parent: source, Filter: `severity = "HIGH"`, PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.GetListFindingsResults()) != 1 || page.GetListFindingsResults()[0].GetFinding().GetName() != source+"/findings/a" || page.GetNextPageToken() == "" {
		t.Fatalf("first page = %v", page)
	}
	var names []string
	for r, err := range c.ListFindingsAll(ctx, &ListFindingsRequest{Parent: source, Filter: `severity = "HIGH"`}) {
		if err != nil {
			t.Fatal(err)
		}
		if r.GetStateChange() != ListFindingsResponse_ListFindingsResult_UNUSED {
			t.Fatalf("state_change %v without compare_duration; want UNUSED", r.GetStateChange())
		}
		names = append(names, r.GetFinding().GetName())
	}
	if len(names) != 2 || names[1] != source+"/findings/c" {
		t.Fatalf("the HIGH findings of %s: %v", source, names)
	}
	if _, err := c.ListFindings(ctx, &ListFindingsRequest{Parent: source, ReadTime: nil, PageSize: 1, OrderBy: "category desc"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("order_by a field without an index = %v; want InvalidArgument", err)
	}
}

// Behaviour test of a service named after one resource serving another's
// methods (testdata/protos/googleapis_tables, trimmed from Area 120
// Tables): TablesService serves Rows under the Tables it serves, served
// over a real gRPC connection (bufconn) and called through the generated
// wrapper.
package tables

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("error %v: code %v, want %v", err, got, want)
	}
}

func TestRowsOfTablesService(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	skeleton := NewInMemoryTablesServiceSkeleton()
	// The API has no CreateTable: tables are made elsewhere.
	for _, name := range []string{"tables/orders", "tables/users"} {
		if _, err := skeleton.Repositories().Table.Create(ctx, &Table{Name: name, DisplayName: name}); err != nil {
			t.Fatal(err)
		}
	}
	c := StartTablesServiceForTest(t, skeleton)

	row := &Row{Values: map[string]*structpb.Value{"total": structpb.NewNumberValue(12)}}
	created, err := c.CreateRow(ctx, &CreateRowRequest{Parent: "tables/orders", Row: row})
	if err != nil || !strings.HasPrefix(created.GetName(), "tables/orders/rows/") {
		t.Fatalf("CreateRow = %v, %v; want a row under tables/orders", created, err)
	}
	if _, err := c.CreateRow(ctx, &CreateRowRequest{Parent: "tables/users", Row: row}); err != nil {
		t.Fatal(err)
	}
	// A table that does not exist has no rows to add to.
	_, err = c.CreateRow(ctx, &CreateRowRequest{Parent: "tables/missing", Row: row})
	wantCode(t, err, codes.NotFound)

	got, err := c.GetRow(ctx, &GetRowRequest{Name: created.GetName()})
	if err != nil || got.GetValues()["total"].GetNumberValue() != 12 {
		t.Fatalf("GetRow = %v, %v", got, err)
	}
	// A Table's name is no Row's: the keys of the two never mix.
	_, err = c.GetRow(ctx, &GetRowRequest{Name: "tables/orders"})
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.DeleteRow(ctx, &DeleteRowRequest{Name: "tables/users"})
	wantCode(t, err, codes.InvalidArgument)
	if tbl, err := c.GetTable(ctx, &GetTableRequest{Name: "tables/users"}); err != nil || tbl.GetDisplayName() != "tables/users" {
		t.Fatalf("GetTable after refused row calls = %v, %v", tbl, err)
	}

	page, err := c.ListRows(ctx, &ListRowsRequest{Parent: "tables/orders"})
	if err != nil || len(page.GetRows()) != 1 || page.GetRows()[0].GetName() != created.GetName() {
		t.Fatalf("ListRows(tables/orders) = %v, %v; want the one row", page, err)
	}
	// The view is the API's own (values keyed by column id): refused.
	_, err = c.ListRows(ctx, &ListRowsRequest{Parent: "tables/orders", View: View_COLUMN_ID_VIEW})
	wantCode(t, err, codes.Unimplemented)

	if _, err := c.DeleteRow(ctx, &DeleteRowRequest{Name: created.GetName()}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetRow(ctx, &GetRowRequest{Name: created.GetName()})
	wantCode(t, err, codes.NotFound)
	tables, err := c.ListTables(ctx, &ListTablesRequest{})
	if err != nil || len(tables.GetTables()) != 2 {
		t.Fatalf("ListTables = %v, %v", tables, err)
	}
}

package svcprod

import (
	"testing"

	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
	"github.com/svcgen/protoc-gen-svc/svcclient"
)

// TestAgreedPublic: the generated table decides, the descriptor is the
// fallback, and a method the two disagree about stays protected.
func TestAgreedPublic(t *testing.T) {
	const (
		public, required = svcclient.AuthPublic, svcclient.AuthRequired
		none             = svcv1.Auth_AUTH_UNSPECIFIED
	)
	for _, tc := range []struct {
		table   svcclient.Auth
		inTable bool
		schema  svcv1.Auth
		want    bool
	}{
		{public, true, svcv1.Auth_AUTH_PUBLIC, true},
		{required, true, svcv1.Auth_AUTH_REQUIRED, false},
		{public, true, none, true},                      // a table only: registered by hand
		{required, true, none, false},                   // the zero value of a hand-built row
		{0, false, svcv1.Auth_AUTH_PUBLIC, true},        // no table: the descriptor
		{0, false, svcv1.Auth_AUTH_REQUIRED, false},     //
		{0, false, none, false},                         // neither: protected
		{public, true, svcv1.Auth_AUTH_REQUIRED, false}, // disagreement
		{required, true, svcv1.Auth_AUTH_PUBLIC, false}, // disagreement
		{public, true, 7, false},                        // a number no Auth value has
	} {
		if got := agreedPublic(tc.table, tc.inTable, tc.schema); got != tc.want {
			t.Errorf("agreedPublic(%v, %v, %v) = %v, want %v", tc.table, tc.inTable, tc.schema, got, tc.want)
		}
	}
}

// TestAuthFromTable: a method known only from a registered table (no
// descriptor) is public when its row says so, and only then.
func TestAuthFromTable(t *testing.T) {
	svcclient.RegisterPolicies([]svcclient.MethodPolicy{
		{FullMethod: "/tableonly.v1.S/Open", Auth: svcclient.AuthPublic},
		{FullMethod: "/tableonly.v1.S/Closed"},
	})
	p := newAuthPolicy(nil)
	if !p.public("/tableonly.v1.S/Open") {
		t.Error("a method whose registered row says AuthPublic requires credentials")
	}
	if p.public("/tableonly.v1.S/Closed") || p.public("/tableonly.v1.S/Unknown") {
		t.Error("a method without a public row is public")
	}
}

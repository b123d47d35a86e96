package svctest

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/svcgen/protoc-gen-svc/internal/svctest/echopb"
	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
	"github.com/svcgen/protoc-gen-svc/svcclient"
	"github.com/svcgen/protoc-gen-svc/svcprod"
)

// TestAuthTableMatchesSchema: for every method of svctest.v1 (Echo is
// public as a service with two methods that require credentials, Library
// says nothing), the Auth of the generated, registered policy table is what
// svcprod.SchemaAuth reads from the descriptors, so svcprod.WithAuth
// decides the same from either source.
func TestAuthTableMatchesSchema(t *testing.T) {
	want := map[string]svcclient.Auth{
		echopb.Echo_Get_FullMethodName:        svcclient.AuthPublic,
		echopb.Echo_Listen_FullMethodName:     svcclient.AuthPublic,
		echopb.Echo_Post_FullMethodName:       svcclient.AuthRequired,
		echopb.Echo_Chat_FullMethodName:       svcclient.AuthRequired,
		echopb.Library_GetBook_FullMethodName: svcclient.AuthRequired,
	}
	checked := checkAuthTables(t, echopb.File_svctest_v1_echo_proto, echopb.File_svctest_v1_library_proto)
	for method, auth := range want {
		if got, ok := checked[method]; !ok || got != auth {
			t.Errorf("%s: table says %v (found %v), want %v", method, got, ok, auth)
		}
	}
}

// checkAuthTables compares, for every method of files, the registered
// table's Auth with the descriptor's, and returns the table's.
func checkAuthTables(t *testing.T, files ...protoreflect.FileDescriptor) map[string]svcclient.Auth {
	t.Helper()
	asTable := map[svcv1.Auth]svcclient.Auth{svcv1.Auth_AUTH_REQUIRED: svcclient.AuthRequired, svcv1.Auth_AUTH_PUBLIC: svcclient.AuthPublic}
	got := map[string]svcclient.Auth{}
	for _, fd := range files {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				method := "/" + string(sd.FullName()) + "/" + string(sd.Methods().Get(j).Name())
				row, ok := svcclient.RegisteredPolicy(method)
				if !ok {
					t.Errorf("%s: no registered policy row", method)
					continue
				}
				schema, known := asTable[svcprod.SchemaAuth(method)]
				if !known || schema != row.Auth {
					t.Errorf("%s: table says %v, descriptor %v", method, row.Auth, svcprod.SchemaAuth(method))
				}
				got[method] = row.Auth
			}
		}
	}
	return got
}

package gen

import (
	"strings"
	"testing"

	// The iam fixture imports google/iam/v1/*.proto, which the fixtures'
	// compiler finds among the files of linked Go packages (globalResolver).
	_ "cloud.google.com/go/iam/apiv1/iampb"
)

// TestIAMExplained: the three google.iam.v1 policy methods of the iam
// fixture are served from the Policies repository, and the report says how
// the resource is checked.
func TestIAMExplained(t *testing.T) {
	report := explained(t, request(t, []string{protosDir}, protoFilesIn(t, "iam"), "paths=source_relative"))
	for _, m := range []string{"GetIamPolicy", "SetIamPolicy", "TestIamPermissions"} {
		got := report["example.iam.v1.Library."+m]
		if !strings.HasPrefix(got, "served from Policies: ") || !strings.Contains(got, "svciam."+m) ||
			!strings.Contains(got, "resource must name a stored Book (books/{book})") {
			t.Errorf("%s: %q; want it served from Policies by svciam.%s, its resource a Book", m, got, m)
		}
	}
}

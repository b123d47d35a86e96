// Behaviour test of a resource with several patterns (AIP-122/123): Secret
// is projects/{project}/secrets/{secret} and
// projects/{project}/locations/{location}/secrets/{secret}. A parent of
// either pattern is accepted, Create composes the name by the pattern the
// parent matches, and List answers only that parent's children; served
// over a real gRPC connection and called through the generated wrapper.
package secrets

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// stored lists the names of every secret in the repository, whatever its
// parent.
func stored(t *testing.T, skel SecretServiceSkeleton) []string {
	t.Helper()
	items, _, err := skel.Repositories().Secret.List(context.Background(), 1000, "")
	if err != nil {
		t.Fatalf("List of the repository: %v", err)
	}
	var names []string
	for _, s := range items {
		names = append(names, s.GetName())
	}
	return names
}

// listed lists the names of the secrets under parent, page by page.
func listed(t *testing.T, c *SecretServiceWrapper, parent string) []string {
	t.Helper()
	var names []string
	token := ""
	for {
		page, err := c.ListSecrets(context.Background(), &ListSecretsRequest{Parent: parent, PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatalf("ListSecrets(%q): %v", parent, err)
		}
		for _, s := range page.GetSecrets() {
			names = append(names, s.GetName())
		}
		if token = page.GetNextPageToken(); token == "" {
			return names
		}
	}
}

func TestSeveralPatterns(t *testing.T) {
	ctx := context.Background()
	skel := NewInMemorySecretServiceSkeleton()
	c := StartSecretServiceForTest(t, skel)

	create := func(parent, id string) *Secret {
		t.Helper()
		s, err := c.CreateSecret(ctx, &CreateSecretRequest{Parent: parent, SecretId: id, Secret: &Secret{DisplayName: id, Replication: automatic()}})
		if err != nil {
			t.Fatalf("CreateSecret(%q, %q): %v", parent, id, err)
		}
		return s
	}
	// One id under each kind of parent, and under two of each: the name is
	// composed by the pattern the parent matches.
	for parent, want := range map[string]string{
		"projects/p":             "projects/p/secrets/a",
		"projects/q":             "projects/q/secrets/a",
		"projects/p/locations/l": "projects/p/locations/l/secrets/a",
		"projects/p/locations/m": "projects/p/locations/m/secrets/a",
	} {
		if got := create(parent, "a").GetName(); got != want {
			t.Errorf("CreateSecret under %q named %q, want %q", parent, got, want)
		}
	}
	create("projects/p", "b")
	create("projects/p/locations/l", "b")
	create("projects/q/locations/l", "c")
	// Each is read by its name, under both patterns.
	for _, name := range []string{"projects/p/secrets/a", "projects/p/locations/l/secrets/a", "projects/p/locations/m/secrets/a", "projects/q/locations/l/secrets/c"} {
		got, err := c.GetSecret(ctx, &GetSecretRequest{Name: name})
		if err != nil || got.GetName() != name {
			t.Errorf("GetSecret(%q) = %q, %v", name, got.GetName(), err)
		}
	}
	// The same id under another parent is another secret.
	if _, err := c.CreateSecret(ctx, &CreateSecretRequest{Parent: "projects/p/locations/l", SecretId: "a", Secret: &Secret{DisplayName: "again", Replication: automatic()}}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("CreateSecret of projects/p/locations/l/secrets/a twice: %v, want AlreadyExists", err)
	}

	// A List under a parent answers its own children, and none of a
	// location's under its project, nor a project's under its location.
	for parent, want := range map[string][]string{
		"projects/p":             {"projects/p/secrets/a", "projects/p/secrets/b"},
		"projects/q":             {"projects/q/secrets/a"},
		"projects/p/locations/l": {"projects/p/locations/l/secrets/a", "projects/p/locations/l/secrets/b"},
		"projects/p/locations/m": {"projects/p/locations/m/secrets/a"},
		"projects/q/locations/l": {"projects/q/locations/l/secrets/c"},
		"projects/r":             nil,
		"projects/p/locations/x": nil,
	} {
		if got := listed(t, c, parent); !slices.Equal(got, want) {
			t.Errorf("ListSecrets(%q) = %q, want %q", parent, got, want)
		}
	}

	// A parent of no pattern is InvalidArgument naming parent, for Create
	// and List, and nothing is stored.
	before := stored(t, skel)
	for _, parent := range []string{"organizations/o", "projects/p/locations", "projects/p/secrets/a", "projects/p/locations/l/x/y", "projects//locations/l", "/projects/p", "projects/p/"} {
		_, err := c.CreateSecret(ctx, &CreateSecretRequest{Parent: parent, SecretId: "z", Secret: &Secret{DisplayName: "z", Replication: automatic()}})
		wantInvalid(t, "CreateSecret under "+parent, err, "parent")
		_, err = c.CreateSecret(ctx, &CreateSecretRequest{Parent: parent, SecretId: "z", Secret: &Secret{DisplayName: "z", Replication: automatic()}, ValidateOnly: true})
		wantInvalid(t, "CreateSecret (validate_only) under "+parent, err, "parent")
		_, err = c.ListSecrets(ctx, &ListSecretsRequest{Parent: parent})
		wantInvalid(t, "ListSecrets under "+parent, err, "parent")
	}
	// An id that would make a name of another pattern is refused too.
	_, err := c.CreateSecret(ctx, &CreateSecretRequest{Parent: "projects/p", SecretId: "l/secrets/z", Secret: &Secret{DisplayName: "z", Replication: automatic()}})
	wantInvalid(t, "CreateSecret with secret_id l/secrets/z", err, "secret.name")
	// Reading across parents (AIP-159) is not served, rather than answered
	// empty.
	for _, parent := range []string{"projects/-", "projects/p/locations/-"} {
		_, err := c.ListSecrets(ctx, &ListSecretsRequest{Parent: parent})
		wantCode(t, "ListSecrets under "+parent, err, codes.Unimplemented)
	}
	if after := stored(t, skel); !slices.Equal(after, before) {
		t.Errorf("refused requests changed the store: %q, then %q", before, after)
	}

	// Delete by a location's name leaves the project's secret of that id.
	if _, err := c.DeleteSecret(ctx, &DeleteSecretRequest{Name: "projects/p/locations/l/secrets/a"}); err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
	if got := listed(t, c, "projects/p/locations/l"); !slices.Equal(got, []string{"projects/p/locations/l/secrets/b"}) {
		t.Errorf("ListSecrets(projects/p/locations/l) after the delete = %q", got)
	}
	if _, err := c.GetSecret(ctx, &GetSecretRequest{Name: "projects/p/secrets/a"}); err != nil {
		t.Errorf("GetSecret(projects/p/secrets/a) after deleting the location's: %v", err)
	}
}

// TestSubResource: SecretVersion, a resource other than the Secret that
// SecretService is named after, is served because its requests name it by
// google.api.resource_reference; its parent is a Secret of either pattern,
// which must exist.
func TestSubResource(t *testing.T) {
	ctx := context.Background()
	c := StartSecretServiceForTest(t, NewInMemorySecretServiceSkeleton())
	secrets := []string{"projects/p/secrets/s", "projects/p/locations/l/secrets/s"}
	for _, name := range secrets {
		parent, id := name[:len(name)-len("/secrets/s")], "s"
		if _, err := c.CreateSecret(ctx, &CreateSecretRequest{Parent: parent, SecretId: id, Secret: &Secret{DisplayName: id, Replication: automatic()}}); err != nil {
			t.Fatalf("CreateSecret(%q): %v", name, err)
		}
	}
	for _, parent := range secrets {
		for _, id := range []string{"1", "2"} {
			v, err := c.CreateSecretVersion(ctx, &CreateSecretVersionRequest{Parent: parent, SecretVersionId: id, SecretVersion: &SecretVersion{Payload: []byte(id)}})
			if want := parent + "/versions/" + id; err != nil || v.GetName() != want {
				t.Fatalf("CreateSecretVersion(%q, %q) = %q, %v; want %q", parent, id, v.GetName(), err, want)
			}
			got, err := c.GetSecretVersion(ctx, &GetSecretVersionRequest{Name: v.GetName()})
			if err != nil || string(got.GetPayload()) != id {
				t.Errorf("GetSecretVersion(%q) = %v, %v", v.GetName(), got, err)
			}
		}
	}
	for _, parent := range secrets {
		page, err := c.ListSecretVersions(ctx, &ListSecretVersionsRequest{Parent: parent})
		var names []string
		for _, v := range page.GetVersions() {
			names = append(names, v.GetName())
		}
		if want := []string{parent + "/versions/1", parent + "/versions/2"}; err != nil || !slices.Equal(names, want) {
			t.Errorf("ListSecretVersions(%q) = %q, %v; want %q", parent, names, err, want)
		}
	}
	// A secret that does not exist has no versions to list or add to.
	_, err := c.CreateSecretVersion(ctx, &CreateSecretVersionRequest{Parent: "projects/p/locations/m/secrets/s", SecretVersionId: "1", SecretVersion: &SecretVersion{}})
	wantCode(t, "CreateSecretVersion under a secret that does not exist", err, codes.NotFound)
	_, err = c.ListSecretVersions(ctx, &ListSecretVersionsRequest{Parent: "projects/q/secrets/s"})
	wantCode(t, "ListSecretVersions under a secret that does not exist", err, codes.NotFound)
	// A parent that is no secret is InvalidArgument.
	_, err = c.CreateSecretVersion(ctx, &CreateSecretVersionRequest{Parent: "projects/p", SecretVersionId: "1", SecretVersion: &SecretVersion{}})
	wantInvalid(t, "CreateSecretVersion under a project", err, "parent")
	_, err = c.ListSecretVersions(ctx, &ListSecretVersionsRequest{Parent: "projects/p/locations/l"})
	wantInvalid(t, "ListSecretVersions under a location", err, "parent")

	if _, err := c.DeleteSecretVersion(ctx, &DeleteSecretVersionRequest{Name: "projects/p/locations/l/secrets/s/versions/1"}); err != nil {
		t.Fatalf("DeleteSecretVersion: %v", err)
	}
	_, err = c.GetSecretVersion(ctx, &GetSecretVersionRequest{Name: "projects/p/locations/l/secrets/s/versions/1"})
	wantCode(t, "GetSecretVersion after its delete", err, codes.NotFound)
	if _, err := c.GetSecretVersion(ctx, &GetSecretVersionRequest{Name: "projects/p/secrets/s/versions/1"}); err != nil {
		t.Errorf("GetSecretVersion of the project secret's version 1 after deleting the location's: %v", err)
	}
	// AccessSecretVersion is a custom method.
	_, err = c.AccessSecretVersion(ctx, &GetSecretVersionRequest{Name: "projects/p/secrets/s/versions/1"})
	wantCode(t, "AccessSecretVersion", err, codes.Unimplemented)
}

// Behaviour test of field behaviour (AIP-203) and resource names (AIP-122)
// in the standard methods of a Google-style API (testdata/protos/
// googleapis_secrets), compiled into the generated package by
// TestGoldensCompile, served over a real gRPC connection (bufconn) and
// called through the generated wrapper.
package secrets

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// wantInvalid requires err to be InvalidArgument whose BadRequest detail
// names exactly fields, each also in the message.
func wantInvalid(t *testing.T, call string, err error, fields ...string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("%s: %v, want InvalidArgument naming %v", call, err, fields)
	}
	var got []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				got = append(got, v.GetField())
			}
		}
	}
	if !slices.Equal(got, fields) {
		t.Fatalf("%s: violations %v (%q), want %v", call, got, st.Message(), fields)
	}
	for _, f := range fields {
		if !strings.Contains(st.Message(), f) {
			t.Errorf("%s: message %q does not name %s", call, st.Message(), f)
		}
	}
}

func wantCode(t *testing.T, call string, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("%s: %v, want %v", call, err, want)
	}
}

const project = "projects/p"

func automatic() *Replication {
	return &Replication{Replication: &Replication_Automatic_{Automatic: &Replication_Automatic{}}}
}

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// count lists the project's secrets.
func count(t *testing.T, c *SecretServiceWrapper) int {
	t.Helper()
	list, err := c.ListSecrets(context.Background(), &ListSecretsRequest{Parent: project})
	if err != nil {
		t.Fatalf("ListSecrets: %v", err)
	}
	return len(list.GetSecrets())
}

func TestCreateRequiredFields(t *testing.T) {
	ctx := context.Background()
	c := StartSecretServiceForTest(t, NewInMemorySecretServiceSkeleton())

	_, err := c.CreateSecret(ctx, &CreateSecretRequest{Secret: &Secret{DisplayName: "d", Replication: automatic()}})
	wantInvalid(t, "CreateSecret without parent and secret_id", err, "parent", "secret_id")
	_, err = c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, SecretId: "s"})
	wantInvalid(t, "CreateSecret without secret", err, "secret")
	_, err = c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, SecretId: "s", Secret: &Secret{Labels: map[string]string{"a": "b"}}})
	wantInvalid(t, "CreateSecret with an empty secret", err, "secret.replication", "secret.display_name")
	// REQUIRED fields of set messages, in lists too.
	um := &Replication{Replication: &Replication_UserManaged_{UserManaged: &Replication_UserManaged{
		Replicas: []*Replication_UserManaged_Replica{{Location: "eu"}, {}},
	}}}
	_, err = c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, SecretId: "s", Secret: &Secret{DisplayName: "d", Replication: um}})
	wantInvalid(t, "CreateSecret with a replica without location", err, "secret.replication.user_managed.replicas[1].location")
	_, err = c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, SecretId: "s", Secret: &Secret{DisplayName: "d",
		Replication: &Replication{Replication: &Replication_UserManaged_{UserManaged: &Replication_UserManaged{}}}}})
	wantInvalid(t, "CreateSecret with user_managed without replicas", err, "secret.replication.user_managed.replicas")
	if n := count(t, c); n != 0 {
		t.Fatalf("%d secrets stored by refused Creates", n)
	}

	um.GetUserManaged().Replicas[1].Location = "us"
	s, err := c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, SecretId: "s", Secret: &Secret{DisplayName: "d", Replication: um}})
	if err != nil || s.GetName() != project+"/secrets/s" {
		t.Fatalf("CreateSecret with every REQUIRED field = %v, %v", s, err)
	}
}

func TestCreateOutputOnlyAndIdentifier(t *testing.T) {
	ctx := context.Background()
	c := StartSecretServiceForTest(t, NewInMemorySecretServiceSkeleton())
	forged := timestamppb.New(time.Unix(1, 0))
	in := &Secret{
		Name: "projects/evil/secrets/mine", DisplayName: "d", Replication: automatic(),
		CreateTime: forged, State: Secret_ACTIVE, VersionCount: 7,
	}
	s, err := c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, SecretId: "api-key", Secret: in})
	if err != nil {
		t.Fatal(err)
	}
	// IDENTIFIER: the name is the server's, from parent and secret_id.
	if s.GetName() != project+"/secrets/api-key" {
		t.Errorf("name %q, want %s/secrets/api-key", s.GetName(), project)
	}
	// OUTPUT_ONLY fields sent are not stored; create_time is the store's.
	if s.GetState() != Secret_STATE_UNSPECIFIED || s.GetVersionCount() != 0 || s.GetCreateTime().AsTime().Equal(forged.AsTime()) {
		t.Errorf("created %v: OUTPUT_ONLY fields stored as sent", s)
	}
	got, err := c.GetSecret(ctx, &GetSecretRequest{Name: s.GetName()})
	if err != nil || got.GetState() != Secret_STATE_UNSPECIFIED || got.GetVersionCount() != 0 {
		t.Errorf("GetSecret = %v, %v: OUTPUT_ONLY fields stored as sent", got, err)
	}
	if in.GetName() != "projects/evil/secrets/mine" || in.GetState() != Secret_ACTIVE {
		t.Errorf("the caller's message changed: %v", in)
	}
	if _, err := c.GetSecret(ctx, &GetSecretRequest{Name: "projects/evil/secrets/mine"}); status.Code(err) != codes.NotFound {
		t.Errorf("GetSecret(the name sent) = %v, want NotFound", err)
	}

	// Without secret_id the server assigns a (time-ordered) id.
	_, err = c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, Secret: in})
	wantInvalid(t, "CreateSecret without secret_id (REQUIRED)", err, "secret_id")
}

func TestNames(t *testing.T) {
	ctx := context.Background()
	c := StartSecretServiceForTest(t, NewInMemorySecretServiceSkeleton())
	ok := &Secret{DisplayName: "d", Replication: automatic()}
	for _, id := range []string{"a/b", "a/secrets/b"} {
		_, err := c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, SecretId: id, Secret: ok})
		wantInvalid(t, "CreateSecret(secret_id "+id+")", err, "secret.name")
	}
	_, err := c.CreateSecret(ctx, &CreateSecretRequest{Parent: "folders/f", SecretId: "s", Secret: ok})
	wantCode(t, "CreateSecret(parent folders/f)", err, codes.InvalidArgument)
	_, err = c.ListSecrets(ctx, &ListSecretsRequest{Parent: "projects/p/secrets/s"})
	wantCode(t, "ListSecrets(parent of another collection)", err, codes.InvalidArgument)
	if n := count(t, c); n != 0 {
		t.Fatalf("%d secrets stored by refused Creates", n)
	}

	for _, name := range []string{"", "s", "topics/s", "projects/p/secrets", "projects/p/secrets/", "projects/p/secrets/s/versions/1", "projects//secrets/s"} {
		_, err := c.GetSecret(ctx, &GetSecretRequest{Name: name})
		wantInvalid(t, "GetSecret("+name+")", err, "name")
		_, err = c.DeleteSecret(ctx, &DeleteSecretRequest{Name: name})
		wantInvalid(t, "DeleteSecret("+name+")", err, "name")
		if name != "" {
			_, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: name, DisplayName: "x"}})
			wantInvalid(t, "UpdateSecret("+name+")", err, "secret.name")
		}
	}
	_, err = c.GetSecret(ctx, &GetSecretRequest{Name: project + "/secrets/missing"})
	wantCode(t, "GetSecret(missing)", err, codes.NotFound)
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	c := StartSecretServiceForTest(t, NewInMemorySecretServiceSkeleton())
	s, err := c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, SecretId: "s",
		Secret: &Secret{DisplayName: "d", Replication: automatic(), KmsKeyName: "k1"}})
	if err != nil {
		t.Fatal(err)
	}
	name := s.GetName()

	// IMMUTABLE: a change is refused, the same value passes.
	_, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: name, KmsKeyName: "k2"}, UpdateMask: mask("kms_key_name")})
	wantInvalid(t, "UpdateSecret changing kms_key_name", err, "secret.kms_key_name")
	_, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: name, KmsKeyName: "k2"}})
	wantInvalid(t, "UpdateSecret changing kms_key_name without a mask", err, "secret.kms_key_name")
	um := &Replication{Replication: &Replication_UserManaged_{UserManaged: &Replication_UserManaged{Replicas: []*Replication_UserManaged_Replica{{Location: "eu"}}}}}
	_, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: name, Replication: um}, UpdateMask: mask("replication")})
	wantInvalid(t, "UpdateSecret changing replication", err, "secret.replication")
	upd, err := c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: name, KmsKeyName: "k1", DisplayName: "e"}, UpdateMask: mask("kms_key_name", "display_name")})
	if err != nil || upd.GetDisplayName() != "e" || upd.GetKmsKeyName() != "k1" {
		t.Fatalf("UpdateSecret with kms_key_name unchanged = %v, %v", upd, err)
	}

	// REQUIRED: a field the mask names must be set; others may be left out.
	_, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: name}, UpdateMask: mask("display_name")})
	wantInvalid(t, "UpdateSecret clearing display_name", err, "secret.display_name")
	_, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: name, Labels: map[string]string{"x": "y"}}, UpdateMask: mask("*")})
	wantInvalid(t, "UpdateSecret replacing all with nothing", err, "secret.replication", "secret.display_name")
	upd, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: name, Labels: map[string]string{"x": "y"}}, UpdateMask: mask("labels")})
	if err != nil || upd.GetLabels()["x"] != "y" || upd.GetDisplayName() != "e" {
		t.Fatalf("UpdateSecret(labels) = %v, %v", upd, err)
	}

	// OUTPUT_ONLY: never written as sent, masked or not.
	for _, m := range []*fieldmaskpb.FieldMask{nil, mask("display_name", "state", "version_count")} {
		upd, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: name, DisplayName: "f", State: Secret_DISABLED, VersionCount: 9}, UpdateMask: m})
		if err != nil || upd.GetDisplayName() != "f" || upd.GetState() != Secret_STATE_UNSPECIFIED || upd.GetVersionCount() != 0 {
			t.Fatalf("UpdateSecret(mask %v) sending OUTPUT_ONLY fields = %v, %v", m.GetPaths(), upd, err)
		}
	}
	full := &Secret{Name: name, DisplayName: "g", Replication: automatic(), KmsKeyName: "k1", State: Secret_DISABLED}
	upd, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: full, UpdateMask: mask("*")})
	if err != nil || upd.GetDisplayName() != "g" || upd.GetState() != Secret_STATE_UNSPECIFIED || len(upd.GetLabels()) != 0 {
		t.Fatalf("UpdateSecret(*) = %v, %v", upd, err)
	}
	if full.GetState() != Secret_DISABLED {
		t.Errorf("the caller's message changed: %v", full)
	}
	_, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: project + "/secrets/missing", DisplayName: "x"}})
	wantCode(t, "UpdateSecret(missing)", err, codes.NotFound)
}

var topicName = regexp.MustCompile(`^topics/[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestTopicNames: a Create that names its resource itself gets the name
// only when it is of the resource's pattern.
func TestTopicNames(t *testing.T) {
	ctx := context.Background()
	c := StartTopicServiceForTest(t, NewInMemoryTopicServiceSkeleton())
	for _, name := range []string{"rooms/x", "x", "topics/", "users/evil", "topics/a/b", "/topics/a", "topics/{topic}"} {
		_, err := c.CreateTopic(ctx, &CreateTopicRequest{Topic: &Topic{Name: name}})
		wantInvalid(t, "CreateTopic("+name+")", err, "topic.name")
		_, err = c.GetTopic(ctx, &GetTopicRequest{Name: name})
		wantInvalid(t, "GetTopic("+name+")", err, "name")
	}
	list, err := c.ListTopics(ctx, &ListTopicsRequest{})
	if err != nil || len(list.GetTopics()) != 0 {
		t.Fatalf("ListTopics after refused Creates = %v, %v; want none", list, err)
	}
	named, err := c.CreateTopic(ctx, &CreateTopicRequest{Topic: &Topic{Name: "topics/news"}})
	if err != nil || named.GetName() != "topics/news" {
		t.Fatalf("CreateTopic(topics/news) = %v, %v", named, err)
	}
	assigned, err := c.CreateTopic(ctx, &CreateTopicRequest{Topic: &Topic{Description: "d"}})
	if err != nil || !topicName.MatchString(assigned.GetName()) {
		t.Fatalf("CreateTopic without a name = %v, %v; want topics/<UUIDv7>", assigned, err)
	}
	if got, err := c.GetTopic(ctx, &GetTopicRequest{Name: assigned.GetName()}); err != nil || got.GetDescription() != "d" {
		t.Fatalf("GetTopic(%s) = %v, %v", assigned.GetName(), got, err)
	}
}

// TestReadMask: Get and List answer only the fields read_mask names
// (AIP-157); a path of no field is InvalidArgument.
func TestReadMask(t *testing.T) {
	ctx := context.Background()
	c := StartSecretServiceForTest(t, NewInMemorySecretServiceSkeleton())
	for _, id := range []string{"a", "b"} {
		if _, err := c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, SecretId: id,
			Secret: &Secret{DisplayName: "d " + id, Replication: automatic(), Labels: map[string]string{"k": id}}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.GetSecret(ctx, &GetSecretRequest{Name: project + "/secrets/a", ReadMask: mask("name", "labels")})
	if err != nil || got.GetName() != project+"/secrets/a" || got.GetLabels()["k"] != "a" || got.GetDisplayName() != "" || got.GetReplication() != nil || got.GetCreateTime() != nil {
		t.Fatalf("GetSecret(read_mask name, labels) = %v, %v", got, err)
	}
	full, err := c.GetSecret(ctx, &GetSecretRequest{Name: project + "/secrets/a", ReadMask: mask("*")})
	if err != nil || full.GetDisplayName() != "d a" || full.GetReplication() == nil || full.GetCreateTime() == nil {
		t.Fatalf("GetSecret(read_mask *) = %v, %v", full, err)
	}
	list, err := c.ListSecrets(ctx, &ListSecretsRequest{Parent: project, ReadMask: mask("display_name")})
	if err != nil || len(list.GetSecrets()) != 2 {
		t.Fatalf("ListSecrets(read_mask display_name) = %v, %v", list, err)
	}
	for _, s := range list.GetSecrets() {
		if s.GetDisplayName() == "" || s.GetName() != "" || s.GetLabels() != nil {
			t.Errorf("ListSecrets(read_mask display_name) answered %v", s)
		}
	}
	_, err = c.GetSecret(ctx, &GetSecretRequest{Name: project + "/secrets/a", ReadMask: mask("nosuch")})
	wantInvalid(t, "GetSecret(read_mask nosuch)", err, "read_mask")
	_, err = c.ListSecrets(ctx, &ListSecretsRequest{Parent: "projects/empty", ReadMask: mask("display_name.x")})
	wantInvalid(t, "ListSecrets(read_mask display_name.x)", err, "read_mask")
}

// TestValidateOnly: validate_only (AIP-163) makes every check and stores
// nothing, on Create, Update and Delete.
func TestValidateOnly(t *testing.T) {
	ctx := context.Background()
	c := StartSecretServiceForTest(t, NewInMemorySecretServiceSkeleton())
	ok := &Secret{DisplayName: "d", Replication: automatic(), KmsKeyName: "k1", State: Secret_ACTIVE}

	// Create: the answer is the secret it would create; nothing is stored.
	prev, err := c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, SecretId: "s", Secret: ok, ValidateOnly: true})
	if err != nil || prev.GetName() != project+"/secrets/s" || prev.GetDisplayName() != "d" || prev.GetState() != Secret_STATE_UNSPECIFIED {
		t.Fatalf("CreateSecret(validate_only) = %v, %v", prev, err)
	}
	if n := count(t, c); n != 0 {
		t.Fatalf("CreateSecret(validate_only) stored %d secrets", n)
	}
	_, err = c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, SecretId: "s", Secret: &Secret{}, ValidateOnly: true})
	wantInvalid(t, "CreateSecret(validate_only, REQUIRED fields unset)", err, "secret.replication", "secret.display_name")
	_, err = c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, SecretId: "a/b", Secret: ok, ValidateOnly: true})
	wantInvalid(t, "CreateSecret(validate_only, secret_id a/b)", err, "secret.name")
	s, err := c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, SecretId: "s", Secret: ok})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, SecretId: "s", Secret: ok, ValidateOnly: true})
	wantCode(t, "CreateSecret(validate_only, name in use)", err, codes.AlreadyExists)

	// Update: the answer is the secret as the update would leave it.
	prevUpd, err := c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: s.GetName(), DisplayName: "e", Labels: map[string]string{"x": "y"}}, UpdateMask: mask("display_name"), ValidateOnly: true})
	if err != nil || prevUpd.GetDisplayName() != "e" || len(prevUpd.GetLabels()) != 0 || prevUpd.GetKmsKeyName() != "k1" {
		t.Fatalf("UpdateSecret(validate_only) = %v, %v", prevUpd, err)
	}
	if got, err := c.GetSecret(ctx, &GetSecretRequest{Name: s.GetName()}); err != nil || got.GetDisplayName() != "d" || got.GetEtag() != s.GetEtag() {
		t.Fatalf("after UpdateSecret(validate_only) the secret is %v, %v; want it unchanged", got, err)
	}
	_, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: s.GetName(), KmsKeyName: "k2"}, UpdateMask: mask("kms_key_name"), ValidateOnly: true})
	wantInvalid(t, "UpdateSecret(validate_only, IMMUTABLE changed)", err, "secret.kms_key_name")
	_, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: s.GetName(), DisplayName: "e"}, UpdateMask: mask("nosuch"), ValidateOnly: true})
	wantInvalid(t, "UpdateSecret(validate_only, bad mask)", err, "update_mask")
	_, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: s.GetName(), DisplayName: "e", Etag: `"stale"`}, ValidateOnly: true})
	wantCode(t, "UpdateSecret(validate_only, stale etag)", err, codes.Aborted)
	_, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: project + "/secrets/missing", DisplayName: "e"}, ValidateOnly: true})
	wantCode(t, "UpdateSecret(validate_only, missing)", err, codes.NotFound)

	// Delete: checks the secret exists and the etag; deletes nothing.
	if _, err := c.DeleteSecret(ctx, &DeleteSecretRequest{Name: s.GetName(), ValidateOnly: true}); err != nil {
		t.Fatalf("DeleteSecret(validate_only): %v", err)
	}
	_, err = c.DeleteSecret(ctx, &DeleteSecretRequest{Name: s.GetName(), Etag: `"stale"`, ValidateOnly: true})
	wantCode(t, "DeleteSecret(validate_only, stale etag)", err, codes.Aborted)
	_, err = c.DeleteSecret(ctx, &DeleteSecretRequest{Name: project + "/secrets/missing", ValidateOnly: true})
	wantCode(t, "DeleteSecret(validate_only, missing)", err, codes.NotFound)
	if n := count(t, c); n != 1 {
		t.Fatalf("after validate_only calls %d secrets, want 1", n)
	}
	if _, err := c.DeleteSecret(ctx, &DeleteSecretRequest{Name: s.GetName(), Etag: s.GetEtag()}); err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
}

// TestAllowMissing: an Update with allow_missing creates a missing secret
// as a Create would (AIP-134); a Delete with allow_missing of a missing
// secret succeeds (AIP-135).
func TestAllowMissing(t *testing.T) {
	ctx := context.Background()
	c := StartSecretServiceForTest(t, NewInMemorySecretServiceSkeleton())
	name := project + "/secrets/upserted"
	in := &Secret{Name: name, DisplayName: "d", Replication: automatic(), State: Secret_ACTIVE}

	_, err := c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: in, UpdateMask: mask("display_name")})
	wantCode(t, "UpdateSecret(missing) without allow_missing", err, codes.NotFound)
	_, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: name, DisplayName: "d"}, AllowMissing: true})
	wantInvalid(t, "UpdateSecret(allow_missing, REQUIRED unset)", err, "secret.replication")
	_, err = c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: "topics/x", DisplayName: "d", Replication: automatic()}, AllowMissing: true})
	wantInvalid(t, "UpdateSecret(allow_missing, name of another collection)", err, "secret.name")
	prev, err := c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: in, AllowMissing: true, ValidateOnly: true})
	if err != nil || prev.GetName() != name || count(t, c) != 0 {
		t.Fatalf("UpdateSecret(allow_missing, validate_only) = %v, %v; %d stored", prev, err, count(t, c))
	}

	// The mask is ignored when the secret is created.
	created, err := c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: in, UpdateMask: mask("labels"), AllowMissing: true})
	if err != nil || created.GetName() != name || created.GetDisplayName() != "d" || created.GetState() != Secret_STATE_UNSPECIFIED || created.GetCreateTime() == nil {
		t.Fatalf("UpdateSecret(allow_missing) of a missing secret = %v, %v", created, err)
	}
	// Once it exists, allow_missing updates as usual.
	upd, err := c.UpdateSecret(ctx, &UpdateSecretRequest{Secret: &Secret{Name: name, DisplayName: "e"}, UpdateMask: mask("display_name"), AllowMissing: true})
	if err != nil || upd.GetDisplayName() != "e" || upd.GetReplication() == nil {
		t.Fatalf("UpdateSecret(allow_missing) of an existing secret = %v, %v", upd, err)
	}

	if _, err := c.DeleteSecret(ctx, &DeleteSecretRequest{Name: name, AllowMissing: true}); err != nil {
		t.Fatalf("DeleteSecret(allow_missing) of an existing secret: %v", err)
	}
	if _, err := c.DeleteSecret(ctx, &DeleteSecretRequest{Name: name, AllowMissing: true}); err != nil {
		t.Fatalf("DeleteSecret(allow_missing) of a missing secret: %v", err)
	}
	if _, err := c.DeleteSecret(ctx, &DeleteSecretRequest{Name: name, AllowMissing: true, ValidateOnly: true}); err != nil {
		t.Fatalf("DeleteSecret(allow_missing, validate_only) of a missing secret: %v", err)
	}
	_, err = c.DeleteSecret(ctx, &DeleteSecretRequest{Name: name})
	wantCode(t, "DeleteSecret(missing) without allow_missing", err, codes.NotFound)
	_, err = c.DeleteSecret(ctx, &DeleteSecretRequest{Name: "topics/x", AllowMissing: true})
	wantInvalid(t, "DeleteSecret(allow_missing, name of another collection)", err, "name")
}

// TestView: FULL, or no view, answers the whole secret; BASIC its small
// fields, by svcaip.ApplyView's documented rule.
func TestView(t *testing.T) {
	ctx := context.Background()
	c := StartSecretServiceForTest(t, NewInMemorySecretServiceSkeleton())
	s, err := c.CreateSecret(ctx, &CreateSecretRequest{Parent: project, SecretId: "s", Secret: &Secret{DisplayName: "d", Replication: automatic()}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []SecretView{SecretView_SECRET_VIEW_UNSPECIFIED, SecretView_FULL} {
		got, err := c.GetSecret(ctx, &GetSecretRequest{Name: s.GetName(), View: v})
		if err != nil || got.GetReplication() == nil || got.GetDisplayName() != "d" {
			t.Fatalf("GetSecret(view %v) = %v, %v", v, got, err)
		}
		list, err := c.ListSecrets(ctx, &ListSecretsRequest{Parent: project, View: v})
		if err != nil || len(list.GetSecrets()) != 1 {
			t.Fatalf("ListSecrets(view %v) = %v, %v", v, list, err)
		}
	}
	// BASIC keeps the small fields (name, display name, timestamps) and
	// leaves out messages such as the replication policy (svcaip.ApplyView);
	// the stored secret keeps everything.
	basic, err := c.GetSecret(ctx, &GetSecretRequest{Name: s.GetName(), View: SecretView_BASIC})
	if err != nil || basic.GetName() != s.GetName() || basic.GetDisplayName() != "d" || basic.GetCreateTime() == nil || basic.GetReplication() != nil {
		t.Fatalf("GetSecret(view BASIC) = %v, %v", basic, err)
	}
	list, err := c.ListSecrets(ctx, &ListSecretsRequest{Parent: project, View: SecretView_BASIC})
	if err != nil || len(list.GetSecrets()) != 1 || list.GetSecrets()[0].GetReplication() != nil || list.GetSecrets()[0].GetDisplayName() != "d" {
		t.Fatalf("ListSecrets(view BASIC) = %v, %v", list, err)
	}
	full, err := c.GetSecret(ctx, &GetSecretRequest{Name: s.GetName()})
	if err != nil || full.GetReplication() == nil {
		t.Fatalf("GetSecret after a BASIC read = %v, %v", full, err)
	}
	_, err = c.GetSecret(ctx, &GetSecretRequest{Name: s.GetName(), View: SecretView(7)})
	wantInvalid(t, "GetSecret(view 7)", err, "view")
}

// TestTopicUpdate: validate_only and allow_missing on the Update of a
// resource without field behaviour.
func TestTopicUpdate(t *testing.T) {
	ctx := context.Background()
	c := StartTopicServiceForTest(t, NewInMemoryTopicServiceSkeleton())
	_, err := c.UpdateTopic(ctx, &UpdateTopicRequest{Topic: &Topic{Name: "topics/a", Description: "d"}})
	wantCode(t, "UpdateTopic(missing)", err, codes.NotFound)
	prev, err := c.UpdateTopic(ctx, &UpdateTopicRequest{Topic: &Topic{Name: "topics/a", Description: "d"}, AllowMissing: true, ValidateOnly: true})
	if err != nil || prev.GetName() != "topics/a" {
		t.Fatalf("UpdateTopic(allow_missing, validate_only) = %v, %v", prev, err)
	}
	if _, err := c.GetTopic(ctx, &GetTopicRequest{Name: "topics/a"}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetTopic after validate_only: %v, want NotFound", err)
	}
	created, err := c.UpdateTopic(ctx, &UpdateTopicRequest{Topic: &Topic{Name: "topics/a", Description: "d"}, AllowMissing: true})
	if err != nil || created.GetDescription() != "d" {
		t.Fatalf("UpdateTopic(allow_missing) = %v, %v", created, err)
	}
	prev, err = c.UpdateTopic(ctx, &UpdateTopicRequest{Topic: &Topic{Name: "topics/a", Description: "e"}, UpdateMask: mask("description"), ValidateOnly: true})
	if err != nil || prev.GetDescription() != "e" {
		t.Fatalf("UpdateTopic(validate_only) = %v, %v", prev, err)
	}
	got, err := c.GetTopic(ctx, &GetTopicRequest{Name: "topics/a"})
	if err != nil || got.GetDescription() != "d" {
		t.Fatalf("GetTopic after UpdateTopic(validate_only) = %v, %v", got, err)
	}
	_, err = c.UpdateTopic(ctx, &UpdateTopicRequest{Topic: &Topic{Name: "rooms/a"}, AllowMissing: true})
	wantInvalid(t, "UpdateTopic(rooms/a)", err, "topic.name")
}

// Behaviour test of a service serving a second resource without patterns:
// AI Platform's ModelService (testdata/protos/googleapis_mlengine) keeps
// Versions in a repository of their own beside Models, served over a real
// gRPC connection (bufconn) and called through the generated wrapper,
// whose AndWait methods wait for the operations CreateVersion and
// DeleteVersion answer without operation_info.
package googleapis_mlengine

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestVersionsBesideModels(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartModelServiceForTest(t, NewInMemoryModelServiceSkeleton())
	model, err := c.CreateModel(ctx, &CreateModelRequest{Parent: "projects/p", Model: &Model{Name: "projects/p/models/census", Description: "census"}})
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, uri := range []string{"gs://b/v1", "gs://b/v2"} {
		v, md, err := c.CreateVersionAndWait(ctx, &CreateVersionRequest{Parent: model.GetName(), Version: &Version{DeploymentUri: uri, RuntimeVersion: "2.11"}})
		if err != nil || md == nil {
			t.Fatalf("CreateVersionAndWait = %v, %v, %v", v, md, err)
		}
		versions = append(versions, v.GetName())
	}
	// A version named as ML Engine's clients name it, by its last segment.
	v1, _, err := c.CreateVersionAndWait(ctx, &CreateVersionRequest{Parent: model.GetName(), Version: &Version{Name: "v1"}})
	if err != nil || v1.GetName() != model.GetName()+"/versions/v1" {
		t.Fatalf("CreateVersionAndWait(name v1) = %v, %v; want it named %s/versions/v1", v1, err, model.GetName())
	}
	versions = append(versions, v1.GetName())
	if got, err := c.GetVersion(ctx, &GetVersionRequest{Name: versions[1]}); err != nil || got.GetDeploymentUri() != "gs://b/v2" {
		t.Fatalf("GetVersion(%s) = %v, %v", versions[1], got, err)
	}
	// A Version is not a Model, nor a Model a Version.
	if _, err := c.GetModel(ctx, &GetModelRequest{Name: versions[0]}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetModel of a version's name = %v; want NotFound", err)
	}
	if _, err := c.GetVersion(ctx, &GetVersionRequest{Name: model.GetName()}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetVersion of the model's name = %v; want NotFound", err)
	}
	list, err := c.ListVersions(ctx, &ListVersionsRequest{Parent: model.GetName()})
	if err != nil || len(list.GetVersions()) != 3 {
		t.Fatalf("ListVersions = %v, %v", list.GetVersions(), err)
	}
	if _, _, err := c.DeleteVersionAndWait(ctx, &DeleteVersionRequest{Name: versions[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetVersion(ctx, &GetVersionRequest{Name: versions[0]}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetVersion of the deleted version = %v; want NotFound", err)
	}
	if got, err := c.GetModel(ctx, &GetModelRequest{Name: model.GetName()}); err != nil || got.GetDescription() != "census" {
		t.Fatalf("the model after its version's delete: %v, %v", got, err)
	}
}

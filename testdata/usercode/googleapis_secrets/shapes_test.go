package secrets

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
)

// TestShapes: field behaviour and names in the other request shapes: the
// request is the resource, flat fields, an update by name, a batch.
func TestShapes(t *testing.T) {
	ctx := context.Background()
	notes := StartNoteServiceForTest(t, NewInMemoryNoteServiceSkeleton())

	_, err := notes.CreateNote(ctx, &Note{Name: "notes/a"})
	wantInvalid(t, "CreateNote without title", err, "title")
	_, err = notes.CreateNote(ctx, &Note{Name: "rooms/a", Title: "t"})
	wantInvalid(t, "CreateNote(rooms/a)", err, "name")
	// The request is the resource: it names itself; OUTPUT_ONLY is cleared.
	n, err := notes.CreateNote(ctx, &Note{Name: "notes/a", Title: "t", Owner: "ann", Revision: 5})
	if err != nil || n.GetName() != "notes/a" || n.GetRevision() != 0 || n.GetCreateTime() == nil {
		t.Fatalf("CreateNote = %v, %v", n, err)
	}

	_, err = notes.UpdateNote(ctx, &UpdateNoteRequest{Name: "notes/a", Owner: "bob"})
	wantInvalid(t, "UpdateNote changing owner", err, "owner")
	upd, err := notes.UpdateNote(ctx, &UpdateNoteRequest{Name: "notes/a", Owner: "ann", Title: "u"})
	if err != nil || upd.GetTitle() != "u" {
		t.Fatalf("UpdateNote = %v, %v", upd, err)
	}
	_, err = notes.UpdateNote(ctx, &UpdateNoteRequest{Name: "a", Title: "u"})
	wantInvalid(t, "UpdateNote(a)", err, "name")

	// A batch with one bad message stores nothing.
	stream, err := notes.ImportNotes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Note{{Name: "notes/b", Title: "b"}, {Name: "notes/c"}} {
		if err := stream.Send(m); err != nil {
			break // the server ended the call: CloseAndRecv says why
		}
	}
	_, err = stream.CloseAndRecv()
	wantInvalid(t, "ImportNotes with a note without title", err, "title")
	_, err = notes.GetNote(ctx, &GetNoteRequest{Name: "notes/b"})
	wantCode(t, "GetNote(notes/b) after the refused batch", err, codes.NotFound)

	// Delete by name only: validate_only checks existence.
	if _, err := notes.DeleteNote(ctx, &DeleteNoteRequest{Name: "notes/a", ValidateOnly: true}); err != nil {
		t.Fatalf("DeleteNote(validate_only): %v", err)
	}
	_, err = notes.DeleteNote(ctx, &DeleteNoteRequest{Name: "notes/zz", ValidateOnly: true})
	wantCode(t, "DeleteNote(validate_only, missing)", err, codes.NotFound)
	if _, err := notes.DeleteNote(ctx, &DeleteNoteRequest{Name: "notes/zz", ValidateOnly: true, AllowMissing: true}); err != nil {
		t.Fatalf("DeleteNote(validate_only, allow_missing, missing): %v", err)
	}
	if _, err := notes.GetNote(ctx, &GetNoteRequest{Name: "notes/a"}); err != nil {
		t.Fatalf("GetNote after DeleteNote(validate_only): %v", err)
	}

	tags := StartTagServiceForTest(t, NewInMemoryTagServiceSkeleton())
	_, err = tags.CreateTag(ctx, &CreateTagRequest{Name: "tags/x"})
	wantInvalid(t, "CreateTag without label", err, "label")
	tag, err := tags.CreateTag(ctx, &CreateTagRequest{Name: "tags/x", Label: "l", Uses: 7})
	if err != nil || tag.GetUses() != 0 || tag.GetName() != "tags/x" {
		t.Fatalf("CreateTag = %v, %v", tag, err)
	}
	_, err = tags.CreateTag(ctx, &CreateTagRequest{Name: "x", Label: "l"})
	wantInvalid(t, "CreateTag(x)", err, "name")

	// A long-running Delete with validate_only: a done Operation, stored
	// nowhere, and the tag kept.
	op, err := tags.DeleteTag(ctx, &DeleteTagRequest{Name: "tags/x", ValidateOnly: true})
	if err != nil || !op.GetDone() || op.GetName() != "" || op.GetResponse() == nil {
		t.Fatalf("DeleteTag(validate_only) = %v, %v; want a done, unnamed Operation", op, err)
	}
	if _, _, err := tags.DeleteTagAndWait(ctx, &DeleteTagRequest{Name: "tags/x", ValidateOnly: true}); err != nil {
		t.Fatalf("DeleteTagAndWait(validate_only): %v", err)
	}
	if _, err := tags.GetTag(ctx, &GetTagRequest{Name: "tags/x"}); err != nil {
		t.Fatalf("GetTag after DeleteTag(validate_only): %v", err)
	}
	_, err = tags.DeleteTag(ctx, &DeleteTagRequest{Name: "tags/missing", ValidateOnly: true})
	wantCode(t, "DeleteTag(validate_only, missing)", err, codes.NotFound)
	if _, _, err := tags.DeleteTagAndWait(ctx, &DeleteTagRequest{Name: "tags/x"}); err != nil {
		t.Fatalf("DeleteTagAndWait: %v", err)
	}
	_, err = tags.GetTag(ctx, &GetTagRequest{Name: "tags/x"})
	wantCode(t, "GetTag after DeleteTagAndWait", err, codes.NotFound)
}

// TestLongRunningPreviews: validate_only on a long-running Create and
// Update answers a done Operation holding the preview, and stores neither
// the job nor an operation; allow_missing creates through the Update.
func TestLongRunningPreviews(t *testing.T) {
	ctx := context.Background()
	skel := NewInMemoryJobServiceSkeleton()
	c := StartJobServiceForTest(t, skel)
	ops := skel.Repositories().Operations

	job, _, err := c.CreateJobAndWait(ctx, &CreateJobRequest{JobId: "j", Job: &Job{Command: "run", Runs: 3}, ValidateOnly: true})
	if err != nil || job.GetName() != "jobs/j" || job.GetRuns() != 0 {
		t.Fatalf("CreateJobAndWait(validate_only) = %v, %v", job, err)
	}
	_, err = c.GetJob(ctx, &GetJobRequest{Name: "jobs/j"})
	wantCode(t, "GetJob after validate_only", err, codes.NotFound)
	_, err = c.CreateJob(ctx, &CreateJobRequest{JobId: "j", Job: &Job{}, ValidateOnly: true})
	wantInvalid(t, "CreateJob(validate_only, REQUIRED unset)", err, "job.command")

	// allow_missing: the Update creates; with validate_only, nothing.
	prev, _, err := c.UpdateJobAndWait(ctx, &UpdateJobRequest{Job: &Job{Name: "jobs/u", Command: "x"}, AllowMissing: true, ValidateOnly: true})
	if err != nil || prev.GetName() != "jobs/u" {
		t.Fatalf("UpdateJobAndWait(allow_missing, validate_only) = %v, %v", prev, err)
	}
	created, _, err := c.UpdateJobAndWait(ctx, &UpdateJobRequest{Job: &Job{Name: "jobs/u", Command: "x"}, AllowMissing: true})
	if err != nil || created.GetCommand() != "x" {
		t.Fatalf("UpdateJobAndWait(allow_missing) = %v, %v", created, err)
	}
	prev, _, err = c.UpdateJobAndWait(ctx, &UpdateJobRequest{Job: &Job{Name: "jobs/u", Command: "y"}, UpdateMask: mask("command"), ValidateOnly: true})
	if err != nil || prev.GetCommand() != "y" {
		t.Fatalf("UpdateJobAndWait(validate_only) = %v, %v", prev, err)
	}
	if got, err := c.GetJob(ctx, &GetJobRequest{Name: "jobs/u"}); err != nil || got.GetCommand() != "x" {
		t.Fatalf("GetJob after UpdateJob(validate_only) = %v, %v", got, err)
	}
	// Only the real Update that created the job left an operation.
	if list, _, err := ops.List(ctx, 0, ""); err != nil || len(list) != 1 {
		t.Fatalf("operations stored: %d, %v; want 1 (previews store none)", len(list), err)
	}
}

// TestDeleteAnsweringTheResource: a long-running Delete that answers the
// deleted Job (Eventarc's DeleteTrigger shape) with allow_missing.
func TestDeleteAnsweringTheResource(t *testing.T) {
	ctx := context.Background()
	c := StartJobServiceForTest(t, NewInMemoryJobServiceSkeleton())
	if _, _, err := c.CreateJobAndWait(ctx, &CreateJobRequest{JobId: "d", Job: &Job{Command: "run"}}); err != nil {
		t.Fatal(err)
	}
	prev, _, err := c.DeleteJobAndWait(ctx, &DeleteJobRequest{Name: "jobs/d", ValidateOnly: true})
	if err != nil || prev.GetCommand() != "run" {
		t.Fatalf("DeleteJobAndWait(validate_only) = %v, %v; want the job it would delete", prev, err)
	}
	deleted, _, err := c.DeleteJobAndWait(ctx, &DeleteJobRequest{Name: "jobs/d"})
	if err != nil || deleted.GetCommand() != "run" {
		t.Fatalf("DeleteJobAndWait = %v, %v; want the deleted job", deleted, err)
	}
	_, _, err = c.DeleteJobAndWait(ctx, &DeleteJobRequest{Name: "jobs/d"})
	wantCode(t, "DeleteJob of a deleted job", err, codes.NotFound)
	for _, validateOnly := range []bool{true, false} {
		missing, _, err := c.DeleteJobAndWait(ctx, &DeleteJobRequest{Name: "jobs/d", AllowMissing: true, ValidateOnly: validateOnly})
		if err != nil || missing.GetName() != "jobs/d" || missing.GetCommand() != "" {
			t.Fatalf("DeleteJobAndWait(allow_missing, validate_only %v) of a missing job = %v, %v; want a job holding only its name", validateOnly, missing, err)
		}
	}
}

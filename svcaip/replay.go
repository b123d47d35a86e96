package svcaip

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
	"github.com/svcgen/protoc-gen-svc/svcstore"
)

// Requests is the repository of AIP-155 request records: in memory
// (NewRequests), or on a database like any other repository
// (pgstore.New[*svcv1.RequestRecord](ctx, pool, svcaip.RequestsSchema)),
// shared by every replica so a retry reaching another replica is still
// carried out once.
type Requests = svcstore.Repository[*svcv1.RequestRecord]

// RequestsSchema is the schema of request records: indexed by creation time,
// so expired records are found without a scan.
var RequestsSchema = svcstore.Schema{
	KeyField: "name", KeyPrefix: "requests/", EtagField: "etag",
	CreateTimeField: "create_time", UpdateTimeField: "update_time",
	Indexes: []string{"create_time"},
}

// NewRequests returns an empty in-memory repository of request records.
func NewRequests(opts ...svcstore.Option) *svcstore.Memory[*svcv1.RequestRecord] {
	return svcstore.MustNew[*svcv1.RequestRecord](RequestsSchema, opts...)
}

// The request_id contract, documented in every generated method that
// honours one.
const (
	// RequestIDWindow is how long a request_id is remembered after its
	// request succeeded: a repetition within it answers the first
	// response; after it, the request is carried out again.
	RequestIDWindow = 24 * time.Hour
	// MaxRequestIDBytes bounds a request_id: printable ASCII, so a UUID
	// (36 characters) fits.
	MaxRequestIDBytes = 64
	// pendingTakeover is how long a request may stay in progress before a
	// repetition assumes its server died and carries it out itself.
	pendingTakeover = 30 * time.Second
)

// Replay carries out call once per request_id (AIP-155). The first request
// with an id records it, calls call, and keeps its response for
// RequestIDWindow; a repetition with the same id and the same request
// answers that response without calling (or, while the first is still in
// progress, waits for it within ctx's deadline). The same id with another
// request is InvalidArgument; a call that fails records nothing, so the
// request can be retried. An empty requestID calls call directly.
//
// Responses are replayed as first answered, not re-read (AIP-155 allows
// either): a repeated Create answers the resource as it was created.
func Replay[Resp proto.Message](ctx context.Context, repo Requests, method, requestID string, req proto.Message,
	call func(ctx context.Context) (Resp, error)) (Resp, error) {
	var zero Resp
	if requestID == "" {
		return call(ctx)
	}
	if err := checkRequestID(requestID); err != nil {
		return zero, err
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		return zero, status.Error(codes.InvalidArgument, "the request does not encode")
	}
	digest := sha256.Sum256(data)
	name := RequestsSchema.KeyPrefix + strings.TrimPrefix(method, "/") + "/" + requestID
	for attempt := 0; ; attempt++ {
		rec, err := repo.Create(ctx, &svcv1.RequestRecord{Name: name, RequestDigest: digest[:]})
		if err == nil {
			return carryOut(ctx, repo, rec, call)
		}
		if status.Code(err) != codes.AlreadyExists || attempt == 8 {
			return zero, err
		}
		prev, err := waitDone(ctx, repo, name)
		if status.Code(err) == codes.NotFound {
			continue // the first failed, or expired and was removed: ours now
		}
		if err != nil {
			return zero, err
		}
		if expired(prev) || !prev.Done {
			// Remembered past the window, or abandoned by a server that
			// died mid-request: forget it and carry the request out anew.
			// The etag makes only one repetition take it over.
			if _, err := repo.Delete(ctx, name, prev.Etag); err != nil && status.Code(err) != codes.NotFound && status.Code(err) != codes.Aborted {
				return zero, err
			}
			continue
		}
		if string(prev.RequestDigest) != string(digest[:]) {
			return zero, status.Errorf(codes.InvalidArgument, "request_id %q was already used for another request to %s", requestID, method)
		}
		resp, err := prev.Response.UnmarshalNew()
		if err != nil {
			return zero, status.Error(codes.DataLoss, "the recorded response does not decode")
		}
		out, ok := resp.(Resp)
		if !ok {
			return zero, status.Errorf(codes.Internal, "the recorded response is a %s", prev.Response.MessageName())
		}
		return out, nil
	}
}

// carryOut calls call for the request recorded as rec and records its
// response, or forgets the request when it failed.
func carryOut[Resp proto.Message](ctx context.Context, repo Requests, rec *svcv1.RequestRecord,
	call func(ctx context.Context) (Resp, error)) (Resp, error) {
	resp, err := call(ctx)
	// The record outlives the caller's cancellation: it must say what
	// happened either way.
	bg := context.WithoutCancel(ctx)
	if err != nil {
		repo.Delete(bg, rec.Name, "")
		return resp, err
	}
	packed, perr := anypb.New(resp)
	if perr == nil {
		rec.Done, rec.Response = true, packed
		_, perr = repo.Update(bg, rec, nil)
	}
	if perr != nil {
		// Done but not recorded: a repetition will carry it out again
		// after pendingTakeover. Answer what was done.
		return resp, nil
	}
	if rand.IntN(64) == 0 {
		purgeExpired(bg, repo)
	}
	return resp, nil
}

// waitDone reads the record of name until it is done, expired or gone, or
// ctx ends (Aborted: the first request is still in progress).
func waitDone(ctx context.Context, repo Requests, name string) (*svcv1.RequestRecord, error) {
	backoff := 10 * time.Millisecond
	for {
		rec, err := repo.Get(svcstore.ReadFresh(ctx), name)
		if err != nil {
			return nil, err
		}
		if rec.Done || time.Since(rec.GetCreateTime().AsTime()) > pendingTakeover {
			return rec, nil
		}
		select {
		case <-ctx.Done():
			return nil, status.Error(codes.Aborted, "a request with this request_id is in progress; retry later")
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func expired(rec *svcv1.RequestRecord) bool {
	return rec.Done && time.Since(rec.GetUpdateTime().AsTime()) > RequestIDWindow
}

// purgeExpired deletes a batch of records older than the window, found
// through the create_time index.
func purgeExpired(ctx context.Context, repo Requests) {
	cutoff := time.Now().Add(-RequestIDWindow - pendingTakeover).UTC().Format(time.RFC3339Nano)
	old, _, err := repo.List(ctx, 100, "", svcstore.Where(fmt.Sprintf("create_time < %q", cutoff)))
	if err != nil {
		return
	}
	for _, rec := range old {
		repo.Delete(ctx, rec.Name, rec.Etag)
	}
}

// checkRequestID enforces the documented format: 1 to MaxRequestIDBytes
// printable ASCII characters other than "/".
func checkRequestID(id string) error {
	if len(id) > MaxRequestIDBytes {
		return invalid(violation{"request_id", fmt.Sprintf("has %d bytes; at most %d printable ASCII characters (a UUID fits)", len(id), MaxRequestIDBytes)})
	}
	for _, c := range []byte(id) {
		if c < 0x21 || c > 0x7e || c == '/' {
			return invalid(violation{"request_id", fmt.Sprintf("%q: only printable ASCII characters other than space and '/' (a UUID is recommended)", shown(id))})
		}
	}
	return nil
}

package svclro

import (
	"context"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/svcgen/protoc-gen-svc/svcstore"
)

// DefaultWaitTimeout bounds a WaitOperation that names no timeout (and whose
// caller has no earlier deadline): the operation is returned as it is then,
// done or not, as google.longrunning.Operations allows.
const DefaultWaitTimeout = time.Minute

// Server serves google.longrunning.Operations from a [Repository]. Create
// one with [NewServer]; register it with [Register] or
// longrunningpb.RegisterOperationsServer.
type Server struct {
	longrunningpb.UnimplementedOperationsServer
	repo Repository
	poll Backoff
}

// ServerOption configures a [Server].
type ServerOption func(*Server)

// WithPollBackoff sets how WaitOperation polls a repository that has no
// change feed, or whose feed dropped it. The default is [DefaultBackoff].
func WithPollBackoff(b Backoff) ServerOption {
	return func(s *Server) { s.poll = b }
}

// NewServer returns a server of the operations kept in repo.
func NewServer(repo Repository, opts ...ServerOption) *Server {
	s := &Server{repo: repo, poll: DefaultBackoff}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Register registers google.longrunning.Operations on s, served from repo.
func Register(s grpc.ServiceRegistrar, repo Repository, opts ...ServerOption) {
	longrunningpb.RegisterOperationsServer(s, NewServer(repo, opts...))
}

// GetOperation returns the operation called req.name, or NotFound.
func (s *Server) GetOperation(ctx context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	return s.repo.Get(ctx, req.GetName())
}

// DeleteOperation forgets the operation called req.name, done or not; it
// does not cancel work in progress. NotFound when there is none.
func (s *Server) DeleteOperation(ctx context.Context, req *longrunningpb.DeleteOperationRequest) (*emptypb.Empty, error) {
	if _, err := s.repo.Delete(ctx, req.GetName(), ""); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// CancelOperation marks an operation that is not done as done with the
// error Canceled (code 1), as google.longrunning.Operations describes; a
// done operation is left as it is. The work behind it learns of the
// cancellation by reading the operation ([Complete] and [Fail] then answer
// FailedPrecondition).
func (s *Server) CancelOperation(ctx context.Context, req *longrunningpb.CancelOperationRequest) (*emptypb.Empty, error) {
	op, err := s.repo.Get(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	if !op.GetDone() {
		canceled := &longrunningpb.Operation{
			Name:   op.GetName(),
			Done:   true,
			Result: &longrunningpb.Operation_Error{Error: status.New(codes.Canceled, "operation cancelled by CancelOperation").Proto()},
		}
		if _, err := s.repo.Update(ctx, canceled, &fieldmaskpb.FieldMask{Paths: []string{"done", "error", "response"}}); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

// ListOperations lists the operations of req.name's collection (empty, or
// "operations", which is every operation), in name order, with AIP-158
// pages. req.filter is a conjunction (AND) of:
//
//	done = true | done = false
//	name = "operations/abc*"     (a prefix: the value ends with *)
//	name = "operations/abc"      (one name)
//
// Any other filter is InvalidArgument naming what it could not read.
func (s *Server) ListOperations(ctx context.Context, req *longrunningpb.ListOperationsRequest) (*longrunningpb.ListOperationsResponse, error) {
	if n := strings.TrimSuffix(req.GetName(), "/"); n != "" && n+"/" != Collection {
		return nil, status.Errorf(codes.InvalidArgument, "ListOperations: name %q is not the collection %q", req.GetName(), strings.TrimSuffix(Collection, "/"))
	}
	filters, err := parseFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	ops, next, err := s.repo.List(ctx, int(req.GetPageSize()), req.GetPageToken(), filters...)
	if err != nil {
		return nil, err
	}
	return &longrunningpb.ListOperationsResponse{Operations: ops, NextPageToken: next}, nil
}

// parseFilter reads ListOperations' filter into store filters.
func parseFilter(filter string) ([]svcstore.Filter, error) {
	filter = strings.TrimSpace(filter)
	if filter == "" {
		return nil, nil
	}
	var out []svcstore.Filter
	for _, term := range splitAnd(filter) {
		field, value, ok := strings.Cut(term, "=")
		if !ok {
			return nil, status.Errorf(codes.InvalidArgument, "ListOperations: filter term %q is not field = value (only done and name, joined by AND, are supported)", term)
		}
		field, value = strings.TrimSpace(field), strings.TrimSpace(value)
		switch field {
		case "done":
			b, err := strconv.ParseBool(value)
			if err != nil || value != "true" && value != "false" {
				return nil, status.Errorf(codes.InvalidArgument, "ListOperations: filter term %q: done is compared with true or false", term)
			}
			out = append(out, svcstore.Equal("done", b))
		case "name":
			s, err := strconv.Unquote(value)
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "ListOperations: filter term %q: name is compared with a quoted string", term)
			}
			if p, ok := strings.CutSuffix(s, "*"); ok {
				if strings.Contains(p, "*") {
					return nil, status.Errorf(codes.InvalidArgument, "ListOperations: filter term %q: only a trailing * is supported", term)
				}
				out = append(out, svcstore.KeyPrefix(p))
			} else {
				out = append(out, svcstore.Equal("name", s))
			}
		default:
			return nil, status.Errorf(codes.InvalidArgument, "ListOperations: filter term %q: field %q cannot be filtered on (done and name can)", term, field)
		}
	}
	return out, nil
}

// splitAnd splits a filter on the AIP-160 conjunction " AND " outside
// quoted strings.
func splitAnd(filter string) []string {
	var terms []string
	inQuote, start := false, 0
	for i := 0; i < len(filter); i++ {
		switch c := filter[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && strings.HasPrefix(filter[i:], " AND "):
			terms = append(terms, filter[start:i])
			start = i + len(" AND ")
			i = start - 1
		}
	}
	return append(terms, filter[start:])
}

// WaitOperation returns the operation called req.name once it is done, or
// as it is when req.timeout (at most [DefaultWaitTimeout] when unset) or the
// caller's deadline comes first; a caller whose context ends gets its
// status (DeadlineExceeded, Canceled). It follows the repository's change
// feed when it has one (svcstore.Watcher: memory, SQLite, PostgreSQL
// across replicas), and polls with backoff otherwise.
func (s *Server) WaitOperation(ctx context.Context, req *longrunningpb.WaitOperationRequest) (*longrunningpb.Operation, error) {
	timeout := DefaultWaitTimeout
	if t := req.GetTimeout(); t != nil {
		if err := t.CheckValid(); err != nil || t.AsDuration() < 0 {
			return nil, status.Errorf(codes.InvalidArgument, "WaitOperation: timeout %v is not a valid non-negative duration", t)
		}
		timeout = t.AsDuration()
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := req.GetName()
	var changes <-chan struct{}
	if w, ok := s.repo.(svcstore.Watcher[*longrunningpb.Operation]); ok {
		if seq, err := w.Watch(wctx); err == nil {
			changes = notifications(wctx, seq, name)
		}
	}
	delay := s.poll.Initial
	for {
		op, err := s.repo.Get(ctx, name)
		if err != nil || op.GetDone() {
			return op, err
		}
		wait := delay
		if changes != nil {
			wait = s.poll.Max // the feed wakes us; poll rarely, in case it ends
		} else {
			delay = s.poll.next(delay)
		}
		t := time.NewTimer(s.poll.jitter(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, status.FromContextError(ctx.Err()).Err()
		case <-wctx.Done():
			t.Stop()
			return s.repo.Get(ctx, name)
		case _, ok := <-changes:
			t.Stop()
			if !ok {
				changes = nil
			}
		case <-t.C:
		}
	}
}

// notifications turns a change feed into a signal per change of the
// operation called name; the channel is closed when the feed ends.
func notifications(ctx context.Context, seq func(func(svcstore.Change[*longrunningpb.Operation], error) bool), name string) <-chan struct{} {
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		for c, err := range seq {
			if err != nil {
				return
			}
			if c.Key != name {
				continue
			}
			select {
			case ch <- struct{}{}:
			default:
			}
			if ctx.Err() != nil {
				return
			}
		}
	}()
	return ch
}

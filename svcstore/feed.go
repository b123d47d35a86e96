package svcstore

import (
	"context"
	"iter"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// ChangeKind says what happened to a resource.
type ChangeKind int

const (
	Created ChangeKind = iota + 1
	Updated
	Deleted
)

func (k ChangeKind) String() string {
	switch k {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Deleted:
		return "deleted"
	}
	return "unknown"
}

// Change is one committed write. Message is the resource as the write left
// it (for Deleted, as it was before), a copy the receiver owns.
type Change[M proto.Message] struct {
	Kind    ChangeKind
	Key     string
	Message M
}

// Watcher is implemented by repositories with a change feed: [Memory] and
// the database-backed stores in svcstore's subpackages.
type Watcher[M proto.Message] interface {
	// Watch subscribes to the changes committed from now on and returns
	// them as a sequence. The subscription starts before Watch returns, so
	// a caller may watch first and then list without missing a change in
	// between. Changes arrive in commit order. The sequence ends when ctx
	// is done (without an error) or when the loop stops; a watcher that
	// falls more than [WatchBuffer] changes behind is dropped rather than
	// slowing writers down, and its sequence ends with an Aborted error:
	// re-list, then watch again.
	Watch(ctx context.Context) (iter.Seq2[Change[M], error], error)
}

// WatchBuffer is how many changes a watcher may fall behind before it is
// dropped.
const WatchBuffer = 1024

// Feed fans committed changes out to watchers without ever blocking the
// writer. It is for the stores in svcstore's subpackages; the zero value
// is not usable, use NewFeed.
type Feed[M proto.Message] struct {
	feed[M]
}

// NewFeed returns an empty Feed.
func NewFeed[M proto.Message]() *Feed[M] {
	f := &Feed[M]{}
	f.init()
	return f
}

// Publish hands c to every watcher. Message must not be changed afterwards:
// watchers copy it when they read it.
func (f *Feed[M]) Publish(c Change[M]) { f.publish(c) }

// End ends every watch: with err (a status error) as the last element of
// each sequence, or quietly when err is nil. Later Watch calls fail with
// Unavailable. Stores call it when their source of changes is gone.
func (f *Feed[M]) End(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = true
	for s := range f.subs {
		s.err = err
		close(s.ch)
		delete(f.subs, s)
	}
}

// Watch subscribes as [Watcher] describes.
func (f *Feed[M]) Watch(ctx context.Context) (iter.Seq2[Change[M], error], error) {
	return f.watch(ctx)
}

type feed[M proto.Message] struct {
	mu    sync.Mutex
	subs  map[*subscriber[M]]struct{}
	ended bool
}

type subscriber[M proto.Message] struct {
	ch  chan Change[M]
	err error // guarded by feed.mu; why ch was closed, if not by the watcher
}

func (f *feed[M]) init() { f.subs = make(map[*subscriber[M]]struct{}) }

// publish is called by writers, in commit order (Memory calls it under its
// write lock). A watcher whose buffer is full is dropped: one slow reader
// must not stall every writer.
func (f *feed[M]) publish(c Change[M]) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		select {
		case s.ch <- c:
		default:
			s.err = status.Errorf(codes.Aborted,
				"watch fell more than %d changes behind and was dropped; list again, then watch again", WatchBuffer)
			close(s.ch)
			delete(f.subs, s)
		}
	}
}

func (f *feed[M]) unsubscribe(s *subscriber[M]) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[s]; ok {
		delete(f.subs, s)
		close(s.ch)
	}
}

func (f *feed[M]) watch(ctx context.Context) (iter.Seq2[Change[M], error], error) {
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	s := &subscriber[M]{ch: make(chan Change[M], WatchBuffer)}
	f.mu.Lock()
	if f.ended {
		f.mu.Unlock()
		return nil, status.Error(codes.Unavailable, "watch: the change feed has ended; retry")
	}
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	// Release the subscription when ctx ends even if nobody iterates.
	stop := context.AfterFunc(ctx, func() { f.unsubscribe(s) })
	return func(yield func(Change[M], error) bool) {
		defer func() {
			stop()
			f.unsubscribe(s)
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case c, ok := <-s.ch:
				if !ok {
					f.mu.Lock()
					err := s.err
					f.mu.Unlock()
					if err != nil {
						yield(Change[M]{}, err)
					}
					return
				}
				c.Message = proto.Clone(c.Message).(M)
				if !yield(c, nil) {
					return
				}
			}
		}
	}, nil
}

// Watch subscribes to the store's changes; see [Watcher].
func (m *Memory[M]) Watch(ctx context.Context) (iter.Seq2[Change[M], error], error) {
	return m.feed.watch(ctx)
}

var _ Watcher[proto.Message] = (*Memory[proto.Message])(nil)

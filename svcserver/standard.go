package svcserver

import (
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The helpers below are called by the standard methods of generated
// skeletons; they are small, and tested here once.

// RefuseFields returns codes.Unimplemented naming the first of the given
// fields (proto names of top-level fields) that req sets, or nil when it
// sets none. A skeleton serves a standard method whose request has fields
// its repository cannot honour (containerd's filters, a sync flag) only for
// requests that leave them unset: a request that sets one is refused, never
// half served.
func RefuseFields(req proto.Message, fields ...string) error {
	m := req.ProtoReflect()
	if !m.IsValid() {
		return nil
	}
	fds := m.Descriptor().Fields()
	for _, name := range fields {
		fd := fds.ByName(protoreflect.Name(name))
		if fd != nil && m.Has(fd) {
			return status.Errorf(codes.Unimplemented, "%s.%s is not supported by this server", m.Descriptor().Name(), name)
		}
	}
	return nil
}

// ChildKeyPrefix returns the key prefix of a child collection under parent:
// for parent "shelves/1", pattern "shelves/*" and collection "books" it is
// "shelves/1/books/". A parent that does not match the pattern (every "*"
// one non-empty segment without "/", every other segment as written) is
// codes.InvalidArgument. A "*" segment that is the wildcard "-" (AIP-159:
// the children of every parent) is codes.Unimplemented: they are not one
// key range, and answering none would be wrong.
func ChildKeyPrefix(parent, pattern, collection string) (string, error) {
	if err := checkParent(parent, pattern); err != nil {
		return "", err
	}
	return parent + "/" + collection + "/", nil
}

// SingletonKey returns the key of the singleton (AIP-156) named singleton
// under parent: for parent "users/1", pattern "users/*" and singleton
// "config" it is "users/1/config". The parent is checked as ChildKeyPrefix
// checks it.
func SingletonKey(parent, pattern, singleton string) (string, error) {
	if err := checkParent(parent, pattern); err != nil {
		return "", err
	}
	return parent + "/" + singleton, nil
}

// checkParent checks parent against pattern for ChildKeyPrefix and
// SingletonKey.
func checkParent(parent, pattern string) error {
	got, want := strings.Split(parent, "/"), strings.Split(pattern, "/")
	ok := len(got) == len(want)
	wildcard := false
	for i := 0; ok && i < len(got); i++ {
		ok = got[i] != "" && (want[i] == "*" || got[i] == want[i])
		wildcard = wildcard || want[i] == "*" && got[i] == "-"
	}
	if !ok {
		return status.Errorf(codes.InvalidArgument, "parent %q is not of the form %s", truncate(parent, 200), pattern)
	}
	if wildcard {
		return status.Errorf(codes.Unimplemented, "parent %q: reading across parents with the wildcard \"-\" (AIP-159) is not supported by this server", truncate(parent, 200))
	}
	return nil
}

// MaxBatchBytes bounds what a skeleton answers in one message when the size
// of the answer depends on the request: every resource of an unpaged List,
// or the created resources of a batch create. It is the default largest
// message a grpc-go client accepts (4 MiB), less room for what the store
// adds to each resource.
const MaxBatchBytes = 4 << 20

// batchItemOverhead is what a store may add to one resource of a batch:
// its server-assigned key, etag and timestamps, and the framing of the
// repeated field.
const batchItemOverhead = 256

// BatchBudget counts the bytes of resources a skeleton collects into one
// answer. The zero value is ready to use.
type BatchBudget struct {
	bytes int
	items int
}

// Add counts m and returns codes.ResourceExhausted once the answer would
// exceed MaxBatchBytes: the caller then stops before storing or sending
// anything, so a client never gets an answer it cannot receive, nor a batch
// half stored.
func (b *BatchBudget) Add(m proto.Message) error {
	b.items++
	b.bytes += proto.Size(m) + batchItemOverhead
	if b.bytes > MaxBatchBytes {
		return status.Error(codes.ResourceExhausted, fmt.Sprintf(
			"the answer would exceed %d bytes after %d items; send smaller batches, or page through the resources", MaxBatchBytes, b.items))
	}
	return nil
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// BatchItemError returns err, the error of element i of the repeated
// request field field of a batch method (AIP-231..235), with the element
// named at the start of its message: "requests[2]: ...". Its code and
// details are kept; nil stays nil.
func BatchItemError(field string, i int, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return status.Errorf(codes.Internal, "%s[%d]: %v", field, i, err)
	}
	p := st.Proto()
	p.Message = fmt.Sprintf("%s[%d]: %s", field, i, p.Message)
	return status.FromProto(p).Err()
}

// InParent returns InvalidArgument unless the resource name name (of the
// request field field) is under parent, the parent of a batch method
// (AIP-231..235): parent is empty, or name is parent, "/", and one or more
// segments more. A "-" segment of parent (AIP-159) matches any segment.
func InParent(parent, field, name string) error {
	if parent == "" {
		return nil
	}
	ps, ns := strings.Split(parent, "/"), strings.Split(name, "/")
	ok := len(ns) > len(ps)
	for i := 0; ok && i < len(ps); i++ {
		ok = ps[i] == ns[i] || ps[i] == "-" && ns[i] != ""
	}
	if !ok {
		return status.Errorf(codes.InvalidArgument, "%s %q is not under the batch's parent %q", field, name, parent)
	}
	return nil
}

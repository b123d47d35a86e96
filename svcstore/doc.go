// Package svcstore is the storage runtime behind the standard resource
// methods (Get, List, Create, Update, Delete) that protoc-gen-svc generates.
//
// Generated server skeletons serve those methods from a [Repository]. This
// package defines that interface and ships [Memory], a thread-safe, ordered,
// copy-on-read/write in-memory implementation, so a generated service runs
// end to end with no database and tests get a real fake instead of a mock.
// The package svcstore/storetest writes the behaviour below down once as a
// contract test suite that any other implementation (a real database) can run
// unchanged.
//
// # Semantics
//
// Keys. Every resource is identified by a key held in a top-level field of
// the message (Schema.KeyField, usually "name" or "id"), a string or an
// integer. String keys are compared as byte strings. A Create whose string
// key is empty gets a server-assigned key: Schema.KeyPrefix followed by a
// time-ordered UUIDv7 id, so key order is creation order (see
// [WithKeyGenerator]). Integer keys travel through the [Repository]
// interface in canonical decimal form ("42"; not "042" or "+42"), are ordered numerically, and 0 means unset: a Create with
// key 0 gets one more than the largest key the store has ever held, so
// assigned keys strictly increase and are never reused, even after a Delete
// (an explicit key moves the counter past it). A key that is not canonical
// or is out of the field's range is InvalidArgument naming the field. A
// string key of a new resource may have at most [MaxKeyBytes] bytes (2048):
// page tokens carry a key, and a bounded key keeps every token small enough
// to send back; a longer one is InvalidArgument on Create and CreateBatch,
// naming the key field and the limit. A client-chosen key is taken as
// given; the prefix is not enforced on it, because collection prefixes of
// nested resources ("shelves/1/books/") depend on the parent and are
// checked by the caller.
//
// No aliasing. Every message is deep-copied (proto.Clone) on the way in and on
// the way out. Mutating a message passed to Create or Update, or one returned
// by any method, never changes what is stored. Stored messages are never
// mutated in place: an Update stores a new message, so readers can copy a
// stored message after releasing the lock.
//
// Ordering and pagination. List returns resources in ascending key order.
// Pagination is by key cursor, not by offset: a page token records the last
// key returned, and the next page starts at the first key greater than it.
// Hence a page costs O(log n + page size) at any depth, a token stays valid
// when its key is deleted meanwhile, and a listing that runs while others
// insert or delete never returns a resource twice and never skips one that was
// present throughout. Resources inserted behind the cursor are not seen; ones
// inserted ahead of it are.
//
// Filters. List takes optional filters: [KeyPrefix] (a parent's
// collection, seeked to in the key order) and [Equal] (a field equals a
// value, evaluated on each resource scanned; see its cost). A page token is
// bound to the filter set that issued it.
//
// Batches. CreateBatch stores several resources atomically: all or none, and
// no reader sees part of a batch.
//
// Change feed. [Memory] implements [Watcher]: changes are delivered in
// commit order, and a watcher that falls [WatchBuffer] changes behind is
// dropped with Aborted rather than slowing writers.
//
// Page size. A page size of 0 means [DefaultPageSize]; sizes above
// [MaxPageSize] are clamped to it (AIP-158: the maximum is documented and a
// larger request is not an error); a negative size is InvalidArgument. Both
// limits can be changed per store with [WithDefaultPageSize] and
// [WithMaxPageSize]. A page may be full and still be the last one only when
// no further resource exists: the next page token is empty exactly when the
// listing is complete.
//
// Page bytes. A page is also bounded in bytes, so that a client can receive
// it however large the stored resources are: its items, each counted as it
// is encoded in a List response (proto.Size, plus a two-byte field tag and
// the length prefix), never add up to more than [DefaultMaxPageBytes]
// (4 MiB, gRPC's default message limit, less 64 KiB for the rest of the
// response), or the budget set with [WithMaxPageBytes]. A page that would
// exceed it ends early, with a next page token right after its last item.
// A page always holds at least one item while any remain, so a resource
// larger than the whole budget is returned alone; whether it can be sent is
// then up to the server's message size limit. The database stores stop
// reading rows at the first one that does not fit.
//
// Page tokens. Tokens are opaque to clients: base64url of a version byte, a
// per-store nonce, a hash of the listing's filters and the last key,
// authenticated with HMAC-SHA256 (truncated to 128 bits) under a per-store
// random secret, or one derived from the key given with [WithPageTokenKey],
// which replicas share. A forged, corrupted or truncated token, one issued
// by another store (including an earlier instance of the same in-memory
// store, e.g. before a restart), or one used with other filters, is
// InvalidArgument. Tokens do not depend on the page size, so a client may
// change page_size between pages, and they do not expire.
//
// Etags. When Schema.EtagField is set, the store assigns a new strong etag
// (a store-wide counter in quotes, such as "17" with the quotes as part of
// the value) on every Create and Update, ignoring any etag the client sent
// on Create. Update checks the etag carried
// in the incoming message and Delete its etag argument: an empty etag is
// unconditional, a non-empty one that differs from the stored etag fails with
// codes.Aborted. Aborted rather than FailedPrecondition because the gRPC code
// guidance says so for exactly this case: a failed test-and-set means the
// client should restart its read-modify-write cycle (re-read, re-apply,
// retry), whereas FailedPrecondition means "do not retry until the system
// state has been explicitly fixed". (AIP-154 has named both codes over its
// history; its request-message example still promises ABORTED.) A
// non-empty etag on Delete for a resource without an etag field is
// InvalidArgument: silently ignoring a precondition would be wrong.
//
// Timestamps. When set, Schema.CreateTimeField is stamped on Create and
// preserved on every Update, and Schema.UpdateTimeField is stamped on Create
// and on every Update, both from the store's clock ([WithClock]). Values the
// client sends in these output-only fields are ignored.
//
// Update and update_mask, as AIP-134 says. A nil or empty mask updates the
// fields the incoming message populates (a field left at its zero value is
// not changed; send a mask to clear one). The single path "*" is a full
// replacement: every field is taken from the incoming message except the key
// and create_time, and the etag and update_time are managed by the store.
// Otherwise each path is validated against the message type
// (fieldmaskpb rules: nested paths such as "details.pages" may walk through
// singular message fields; a repeated or map field may only be last), and for
// each path the destination field is cleared and the incoming field, if set,
// copied into a copy of the stored resource, creating intermediate messages
// as needed. Paths naming the key, etag, create_time or update_time (or a
// field inside them) are InvalidArgument: those fields are immutable or
// output-only, and quietly ignoring them would hide a client bug.
//
// Errors. All errors are gRPC status errors: NotFound for a missing key on
// Get, Update and Delete; AlreadyExists for Create with a key in use;
// InvalidArgument for an empty key, a new key longer than [MaxKeyBytes], a
// bad page size or page token, and an invalid update_mask; Aborted for an etag mismatch; and the context's
// Canceled or DeadlineExceeded when the context is already done. Messages
// name the resource type and key, e.g.
//
//	library.v1.Book "shelves/1/books/2" not found
//
// Database stores. svcstore/sqlitestore (one durable process, a SQLite file)
// and svcstore/pgstore (PostgreSQL, any number of replicas) implement the
// same Repository and Watcher, take the same Options, and pass the same
// contract suite; they live in their own packages so that users of Memory
// never link a database driver.
//
// Concurrency and cost. [Memory] is safe for concurrent use: one
// sync.RWMutex guards a github.com/google/btree B-tree ordered by key (for
// List) and a hash index from key to the same entries (for point lookups).
// Get is O(1), Update O(1) plus the cost of merging the message, Create and
// Delete O(log n), and a List page O(log n + page size) at any depth. The
// messages themselves are copied outside the lock wherever possible, and
// that copy (proto.Clone) is the largest part of a Get.
package svcstore

// Package svclro serves and waits for long-running operations (AIP-151).
//
// Operations are google.longrunning.Operation messages kept in a
// [svcstore.Repository] of their own ([Repository]): in memory by default
// ([NewMemory]), or in SQLite or PostgreSQL through svcstore/sqlitestore and
// svcstore/pgstore with [Schema], so that operations survive a restart and
// are shared by every replica on one database.
//
// The server side:
//
//   - [Done] stores an operation that is already done, with a response (or
//     google.protobuf.Empty) and a metadata message packed, and returns it:
//     what generated skeletons answer for a standard method declared with
//     (google.longrunning.operation_info).
//   - [Start] stores an operation that is not done yet; [Complete], [Fail]
//     and [SetMetadata] change it later, from any goroutine or replica.
//   - [Server] serves google.longrunning.Operations (GetOperation,
//     ListOperations with a filter, DeleteOperation, CancelOperation,
//     WaitOperation) over the repository; [Register] registers it.
//
// The client side: [Wait] polls an operation until it is done, within the
// caller's deadline, and [WaitFor] also unpacks its typed response and
// metadata. Generated client wrappers call WaitFor.
//
// The package's dependencies are grpc, protobuf, svcstore and the
// longrunningpb Go types of cloud.google.com/go/longrunning.
package svclro

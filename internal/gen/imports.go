package gen

import "google.golang.org/protobuf/compiler/protogen"

// The packages generated code refers to, declared once. Generated code
// names them only through these (with Ident and QualifiedGoIdent), so
// protogen writes and names the imports.
const (
	contextPackage   = protogen.GoImportPath("context")
	svcclientPackage = protogen.GoImportPath("github.com/svcgen/protoc-gen-svc/svcclient")
	svcserverPackage = protogen.GoImportPath("github.com/svcgen/protoc-gen-svc/svcserver")
	svcstorePackage  = protogen.GoImportPath("github.com/svcgen/protoc-gen-svc/svcstore")
	grpcPackage      = protogen.GoImportPath("google.golang.org/grpc")
	codesPackage     = protogen.GoImportPath("google.golang.org/grpc/codes")
	statusPackage    = protogen.GoImportPath("google.golang.org/grpc/status")
	protoPackage     = protogen.GoImportPath("google.golang.org/protobuf/proto")
	fieldmaskPackage = protogen.GoImportPath("google.golang.org/protobuf/types/known/fieldmaskpb")
	ioPackage        = protogen.GoImportPath("io")
	iterPackage      = protogen.GoImportPath("iter")
	strconvPackage   = protogen.GoImportPath("strconv")
	timePackage      = protogen.GoImportPath("time")
	timestampPackage = protogen.GoImportPath("google.golang.org/protobuf/types/known/timestamppb")
)

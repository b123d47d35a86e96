package svcaip

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// FuzzChecks feeds arbitrary resources, stored resources, masks and names
// to every check: each answers nil or InvalidArgument (Aborted for etags),
// and none panics.
func FuzzChecks(f *testing.F) {
	f.Add([]byte{}, []byte{}, "title", "shelves/1/books/2")
	f.Add([]byte("\x0a\x03abc\x12\x01t\x2a\x02\x0a\x00"), []byte("\x1a\x01i"), "details.publisher,isbn", "shelves//books/")
	f.Add([]byte("\x32\x00\x32\x02\x0a\x00"), []byte("\x2a\x04\x1a\x02pr"), "*", "//x/shelves/1/books/2")
	f.Fuzz(func(t *testing.T, resBytes, curBytes []byte, paths, name string) {
		res := dynamicpb.NewMessage(testFiles["Book"])
		cur := dynamicpb.NewMessage(testFiles["Book"])
		if proto.Unmarshal(resBytes, res) != nil || proto.Unmarshal(curBytes, cur) != nil {
			return
		}
		mask := &fieldmaskpb.FieldMask{}
		if paths != "" {
			mask.Paths = strings.Split(paths, ",")
		}
		ok := func(what string, err error, also ...codes.Code) {
			t.Helper()
			c := status.Code(err)
			if err == nil || c == codes.InvalidArgument {
				return
			}
			for _, a := range also {
				if c == a {
					return
				}
			}
			t.Fatalf("%s: %v", what, err)
		}
		ok("CheckName", CheckName("name", name, "shelves/{shelf}/books/{book}"))
		ok("CheckRequired", CheckRequired(res))
		ok("CheckReadMask", CheckReadMask(mask, res))
		if CheckReadMask(mask, res) == nil {
			ReadMask(mask, proto.Clone(res).(*dynamicpb.Message))
		}
		if _, err := Preview(cur, proto.Clone(res).(*dynamicpb.Message), mask); err != nil {
			ok("Preview", err)
		}
		ok("PrepareUpdate", PrepareUpdate(cur, proto.Clone(res).(*dynamicpb.Message), mask, "book"))
		ok("PrepareCreate", PrepareCreate(proto.Clone(res).(*dynamicpb.Message), "book", "name"))
		ok("CheckEtag", CheckEtag(res, name, "a", paths), codes.Aborted)
	})
}

package gen

import (
	"bytes"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

// TestRunWritesMarshalledResponse checks that Run, which writes the
// response one file at a time, writes the bytes proto.Marshal gives for the
// response, with and without an error, on the fixtures and the large
// request.
func TestRunWritesMarshalledResponse(t *testing.T) {
	reqs := map[string][]byte{}
	for _, dir := range []string{"allkinds", "resources", "policy"} {
		in, err := proto.Marshal(fixtureRequest(t, dir))
		if err != nil {
			t.Fatal(err)
		}
		reqs[dir] = in
	}
	reqs["large1x"] = largeRequestBytes(t, 1)
	for name, param := range map[string]string{
		"bad option":      "no_such_option=1",
		"module":          "module=example.com/golden",
		"module mismatch": "module=example.com/elsewhere",
		"annotate_code":   "annotate_code",
	} {
		req := fixtureRequest(t, "resources")
		req.Parameter = proto.String(param)
		in, err := proto.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		reqs[name] = in
	}
	for name, in := range reqs {
		var out bytes.Buffer
		if err := Run(bytes.NewReader(in), &out, io.Discard); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		req := unmarshalRequest(t, in)
		want, err := proto.Marshal(Respond(req))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%s: Run wrote %d bytes, not the %d of proto.Marshal(Respond(req))", name, out.Len(), len(want))
		}
	}
}

func unmarshalRequest(t *testing.T, in []byte) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	req := &pluginpb.CodeGeneratorRequest{}
	if err := proto.Unmarshal(in, req); err != nil {
		t.Fatal(err)
	}
	return req
}

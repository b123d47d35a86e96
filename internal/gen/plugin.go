package gen

import (
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

// Respond runs the plugin on one request. Every problem with the request or
// the protos (a bad option, a name collision, an unsupported shape) is
// reported in the response's error field, in one line, which protoc and buf
// print to the user.
func Respond(req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorResponse {
	params := DefaultParams()
	plugin, err := protogen.Options{ParamFunc: params.SetParam}.New(req)
	if err != nil {
		// protogen reports its own errors (and ours, from SetParam) before a
		// Plugin exists; answer them the same way a generation error is.
		resp := &pluginpb.CodeGeneratorResponse{Error: proto.String(err.Error())}
		return withSupport(resp)
	}
	if err := Generate(plugin, params); err != nil {
		plugin.Error(err)
	}
	resp := plugin.Response()
	SortResponse(resp)
	return resp
}

// withSupport sets the supported features on a response built without a
// Plugin, so protoc does not blame an editions file for the real error.
func withSupport(resp *pluginpb.CodeGeneratorResponse) *pluginpb.CodeGeneratorResponse {
	plugin := &protogen.Plugin{}
	Supported(plugin)
	resp.SupportedFeatures = proto.Uint64(plugin.SupportedFeatures)
	resp.MinimumEdition = proto.Int32(int32(plugin.SupportedEditionsMinimum))
	resp.MaximumEdition = proto.Int32(int32(plugin.SupportedEditionsMaximum))
	return resp
}

// Run reads a CodeGeneratorRequest from stdin and writes the response to
// stdout, as protoc and buf expect. It returns an error only when there is no
// valid request to answer (the input is not a CodeGeneratorRequest) or the
// answer cannot be written; everything else goes into the response.
func Run(stdin io.Reader, stdout io.Writer) error {
	in, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("reading the CodeGeneratorRequest from stdin: %v", err)
	}
	if len(in) == 0 {
		return errors.New("no CodeGeneratorRequest on stdin: this program is run by protoc or buf (try --help)")
	}
	req := &pluginpb.CodeGeneratorRequest{}
	if err := proto.Unmarshal(in, req); err != nil {
		return fmt.Errorf("stdin is not a valid CodeGeneratorRequest (%d bytes): %v", len(in), err)
	}
	out, err := proto.Marshal(Respond(req))
	if err != nil {
		return fmt.Errorf("encoding the CodeGeneratorResponse: %v", err)
	}
	if _, err := stdout.Write(out); err != nil {
		return fmt.Errorf("writing the CodeGeneratorResponse to stdout: %v", err)
	}
	return nil
}

// Usage describes the plugin and its options, for --help.
func Usage() string {
	s := "protoc-gen-svc " + Version + " is a protoc/buf plugin: it reads a CodeGeneratorRequest on stdin.\n" +
		"Run it through protoc (--svc_out=DIR --svc_opt=OPTIONS) or buf (buf.gen.yaml).\n\nOptions:\n"
	s += "  paths=import|source_relative, module=PREFIX, M<file>=<go import path>: as for protoc-gen-go\n"
	for _, o := range options {
		s += fmt.Sprintf("  %s=VALUE: %s\n", o.name, o.want)
	}
	return s
}

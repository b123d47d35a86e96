package gen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/gofeaturespb"
	"google.golang.org/protobuf/types/pluginpb"
)

// Respond runs the plugin on one request. Every problem with the request or
// the protos (a bad option, a name collision, an unsupported shape) is
// reported in the response's error field, in one line, which protoc and buf
// print to the user.
func Respond(req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorResponse {
	resp, _ := RespondWithReport(req)
	return resp
}

// RespondWithReport is Respond, also returning the lines to print on
// stderr: warnings about guesses, and with the explain option the account of
// every method.
func RespondWithReport(req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, []string) {
	params := DefaultParams()
	if err := CheckParameter(req.GetParameter()); err != nil {
		return withSupport(&pluginpb.CodeGeneratorResponse{Error: proto.String(oneLine(err.Error()))}), nil
	}
	plugin, err := protogen.Options{ParamFunc: params.SetParam}.New(req)
	if err != nil {
		// protogen reports its own errors (and ours, from SetParam) before a
		// Plugin exists; answer them the same way a generation error is.
		resp := &pluginpb.CodeGeneratorResponse{Error: proto.String(oneLine(err.Error()))}
		return withSupport(resp), nil
	}
	files, lines, err := generate(plugin, params)
	var resp *pluginpb.CodeGeneratorResponse
	if err != nil {
		plugin.Error(err)
		resp = plugin.Response()
	} else {
		resp = response(plugin, files)
	}
	SortResponse(resp)
	return resp, lines
}

// response is protogen's Plugin.Response for the files generate created,
// except that it formats them concurrently. Formatting (protogen's
// GeneratedFile.Content parses the generated Go and prints it back, gofmt
// style) is most of the plugin's work, and each file's is independent of
// the others'. The result is the same as Plugin.Response's: the same files,
// contents, names and order, and the first error in file order.
func response(plugin *protogen.Plugin, files []generatedFile) *pluginpb.CodeGeneratorResponse {
	param := parseProtogenParams(plugin.Request.GetParameter())
	if param.annotateCode {
		return plugin.Response() // .meta files: protogen's own, rarely used, path
	}
	// Plugin.Response with no file to write reports what the plugin
	// supports; the files are added below.
	for _, f := range files {
		f.g.Skip()
	}
	resp := plugin.Response()
	type result struct {
		content string
		err     error
	}
	results := make([]result, len(files))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(files); i = int(next.Add(1) - 1) {
				content, err := files[i].g.Content()
				// The printer's buffer is this file's alone and never written
				// again: the string shares it rather than copying the output.
				results[i] = result{unsafe.String(unsafe.SliceData(content), len(content)), err}
			}
		}()
	}
	wg.Wait()
	for i, f := range files {
		if results[i].err != nil {
			return &pluginpb.CodeGeneratorResponse{Error: proto.String(results[i].err.Error())}
		}
		name := f.name
		if param.module != "" {
			trim := param.module + "/"
			if !strings.HasPrefix(name, trim) {
				return &pluginpb.CodeGeneratorResponse{
					Error: proto.String(fmt.Sprintf("%v: generated file does not match prefix %q", name, param.module)),
				}
			}
			name = strings.TrimPrefix(name, trim)
		}
		resp.File = append(resp.File, &pluginpb.CodeGeneratorResponse_File{
			Name:    proto.String(name),
			Content: proto.String(results[i].content),
		})
	}
	return resp
}

// protogenParams are the parameters protogen reads itself that decide the
// shape of its response.
type protogenParams struct {
	module       string
	annotateCode bool
}

// parseProtogenParams reads them as protogen.Options.New does: comma
// separated, split at the first "=", the last one wins.
func parseProtogenParams(parameter string) protogenParams {
	var p protogenParams
	for _, param := range strings.Split(parameter, ",") {
		name, value, _ := strings.Cut(param, "=")
		switch name {
		case "module":
			p.module = value
		case "annotate_code":
			p.annotateCode = value == "true" || value == ""
		}
	}
	return p
}

// oneLine joins the lines of an error message of protogen's: some are
// paragraphs (a file without go_package), some quote a file name of the
// request that holds a newline. protoc and buf print the error as it is,
// and it must be one line.
func oneLine(msg string) string {
	var parts []string
	for _, line := range strings.FieldsFunc(msg, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, " ")
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

// requestTypes are the extensions Run resolves while it reads a request:
// only Go's editions features, which protogen reads itself. Every other
// option (ours, google.api's, google.longrunning's) stays in its options'
// unknown fields, bytes as compact as they came, rather than a message per
// option of every method, message and field of every file of the request,
// copied again into each descriptor: that costs a request like googleapis
// tens of megabytes. The few options generation reads, it decodes when it
// reads them (see extension).
var requestTypes = func() *protoregistry.Types {
	types := new(protoregistry.Types)
	if err := types.RegisterExtension(gofeaturespb.E_Go); err != nil {
		panic(err)
	}
	return types
}()

// Run reads a CodeGeneratorRequest from stdin and writes the response to
// stdout, as protoc and buf expect. It returns an error only when there is no
// valid request to answer (the input is not a CodeGeneratorRequest) or the
// answer cannot be written; everything else goes into the response.
func Run(stdin io.Reader, stdout, stderr io.Writer) error {
	in, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("reading the CodeGeneratorRequest from stdin: %v", err)
	}
	if len(in) == 0 {
		return errors.New("no CodeGeneratorRequest on stdin: this program is run by protoc or buf (try --help)")
	}
	req := &pluginpb.CodeGeneratorRequest{}
	if err := (proto.UnmarshalOptions{Resolver: requestTypes}).Unmarshal(in, req); err != nil {
		return fmt.Errorf("stdin is not a valid CodeGeneratorRequest (%d bytes): %v", len(in), err)
	}
	resp, lines := RespondWithReport(req)
	for _, line := range lines {
		fmt.Fprintln(stderr, "protoc-gen-svc: "+line)
	}
	if err := writeResponse(stdout, resp); err != nil {
		return fmt.Errorf("writing the CodeGeneratorResponse to stdout: %v", err)
	}
	return nil
}

// writeResponse writes resp as proto.Marshal encodes it, one generated file
// at a time: the response is as large as all the generated code, and this
// way its encoding is never all in memory at once. proto.Marshal writes a
// message's fields in the order of their numbers, the files (field 15)
// last, so the bytes are the same.
func writeResponse(w io.Writer, resp *pluginpb.CodeGeneratorResponse) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	files := resp.File
	resp.File = nil
	b, err := proto.Marshal(resp)
	resp.File = files
	if err != nil {
		return err
	}
	bw.Write(b)
	for _, f := range files {
		size := proto.Size(f)
		b = protowire.AppendTag(b[:0], fileFieldNumber, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(size))
		bw.Write(b)
		b, err = proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(b[:0], f)
		if err != nil {
			return err
		}
		bw.Write(b)
	}
	return bw.Flush()
}

// fileFieldNumber is the number of CodeGeneratorResponse.file.
const fileFieldNumber = 15

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

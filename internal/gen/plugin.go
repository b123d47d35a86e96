package gen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
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
	plugin, files, lines, answer := prepare(req)
	if answer != nil {
		return answer, lines
	}
	resp := response(plugin, files)
	SortResponse(resp)
	return resp, lines
}

// prepare generates the files of req, unformatted, with the report's
// lines; or, when req cannot be generated, the answer to give instead.
func prepare(req *pluginpb.CodeGeneratorRequest) (*protogen.Plugin, []generatedFile, []string, *pluginpb.CodeGeneratorResponse) {
	params := DefaultParams()
	if err := CheckParameter(req.GetParameter()); err != nil {
		return nil, nil, nil, withSupport(&pluginpb.CodeGeneratorResponse{Error: proto.String(oneLine(err.Error()))})
	}
	plugin, err := protogen.Options{ParamFunc: params.SetParam}.New(req)
	if err != nil {
		// protogen reports its own errors (and ours, from SetParam) before a
		// Plugin exists; answer them the same way a generation error is.
		resp := &pluginpb.CodeGeneratorResponse{Error: proto.String(oneLine(err.Error()))}
		return nil, nil, nil, withSupport(resp)
	}
	files, lines, err := generate(plugin, params, !parseProtogenParams(req.GetParameter()).annotateCode)
	if err != nil {
		plugin.Error(err)
		resp := plugin.Response()
		SortResponse(resp)
		return nil, nil, lines, resp
	}
	return plugin, files, lines, nil
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
	resp := responseHead(plugin, files)
	var failed *pluginpb.CodeGeneratorResponse
	formatInOrder(files, nil, func(i int, content string, err error) bool {
		if err != nil {
			failed = &pluginpb.CodeGeneratorResponse{Error: proto.String(err.Error())}
			return false
		}
		name, err := param.outputName(files[i].name)
		if err != nil {
			failed = &pluginpb.CodeGeneratorResponse{Error: proto.String(err.Error())}
			return false
		}
		resp.File = append(resp.File, &pluginpb.CodeGeneratorResponse_File{
			Name:    proto.String(name),
			Content: proto.String(content),
		})
		return true
	})
	if failed != nil {
		return failed
	}
	return resp
}

// responseHead is the response without its files: what Plugin.Response
// with no file to write reports (what the plugin supports).
func responseHead(plugin *protogen.Plugin, files []generatedFile) *pluginpb.CodeGeneratorResponse {
	for _, f := range files {
		f.g.Skip()
	}
	return plugin.Response()
}

// outputName is the name of a generated file in the response: with the
// module= prefix taken off, as protogen does.
func (p protogenParams) outputName(name string) (string, error) {
	if p.module == "" {
		return name, nil
	}
	trim := p.module + "/"
	if !strings.HasPrefix(name, trim) {
		return "", fmt.Errorf("%v: generated file does not match prefix %q", name, p.module)
	}
	return strings.TrimPrefix(name, trim), nil
}

// formatInOrder formats files concurrently (GeneratedFile.Content), and
// calls each with every file's content, in the order of order (indices
// into files; nil: file order), as soon as that file and those before it
// are done, until each returns false. A content is dropped once each has
// seen it, and so is the declarations' text (generatedFile.body) it was
// made of, so that formatted files need not all be in memory at once.
func formatInOrder(files []generatedFile, order []int, each func(i int, content string, err error) bool) {
	if order == nil {
		order = make([]int, len(files))
		for i := range order {
			order[i] = i
		}
	}
	type result struct {
		content string
		err     error
		done    chan struct{}
	}
	results := make([]result, len(order))
	for k := range results {
		results[k].done = make(chan struct{})
	}
	var next atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(order)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := int(next.Add(1) - 1); k < len(order); k = int(next.Add(1) - 1) {
				if !stop.Load() {
					content, err := files[order[k]].content()
					// The printer's buffer is this file's alone and never
					// written again: the string shares it rather than
					// copying the output.
					results[k].content, results[k].err = unsafe.String(unsafe.SliceData(content), len(content)), err
				}
				close(results[k].done)
			}
		}()
	}
	for k := range results {
		<-results[k].done
		if !stop.Load() && !each(order[k], results[k].content, results[k].err) {
			stop.Store(true)
		}
		results[k].content = ""
		files[order[k]].body = nil // in the content now
	}
	wg.Wait()
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
	plugin, files, lines, answer := prepare(req)
	for _, line := range lines {
		fmt.Fprintln(stderr, "protoc-gen-svc: "+line)
	}
	if answer == nil && parseProtogenParams(req.GetParameter()).annotateCode {
		answer = response(plugin, files)
		SortResponse(answer)
	}
	if answer != nil {
		err = writeResponse(stdout, answer)
	} else {
		err = streamResponse(stdout, plugin, files)
	}
	if err != nil {
		return fmt.Errorf("writing the CodeGeneratorResponse to stdout: %v", err)
	}
	return nil
}

// streamResponse writes the response of RespondWithReport for the files
// generate created, as proto.Marshal encodes it, each file as soon as it
// (and those before it) are formatted: the formatted files are never all in
// memory at once, nor is the encoded response. Should a file fail to format
// (generated code that does not parse: a bug), the error follows the files
// already written; protoc and buf read a response's error first, report
// it, and write none of its files.
func streamResponse(w io.Writer, plugin *protogen.Plugin, files []generatedFile) error {
	param := parseProtogenParams(plugin.Request.GetParameter())
	names := make([]string, len(files))
	for i, f := range files {
		name, err := param.outputName(f.name)
		if err != nil {
			return writeResponse(w, &pluginpb.CodeGeneratorResponse{Error: proto.String(err.Error())})
		}
		names[i] = name
	}
	// The order of SortResponse.
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return names[order[a]] < names[order[b]] })

	bw := bufio.NewWriterSize(w, 64<<10)
	b, err := proto.Marshal(responseHead(plugin, files))
	if err != nil {
		return err
	}
	bw.Write(b)
	var failed error
	formatInOrder(files, order, func(i int, content string, err error) bool {
		if err != nil {
			failed = err
			return false
		}
		b, err = appendFile(b[:0], &pluginpb.CodeGeneratorResponse_File{Name: proto.String(names[i]), Content: proto.String(content)})
		if err != nil {
			failed = err
			return false
		}
		bw.Write(b)
		return true
	})
	if failed != nil {
		b = protowire.AppendTag(b[:0], errorFieldNumber, protowire.BytesType)
		b = protowire.AppendString(b, failed.Error())
		bw.Write(b)
	}
	return bw.Flush()
}

// appendFile appends f to b as proto.Marshal encodes it in a response.
func appendFile(b []byte, f *pluginpb.CodeGeneratorResponse_File) ([]byte, error) {
	b = protowire.AppendTag(b, fileFieldNumber, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(proto.Size(f)))
	return proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(b, f)
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
		if b, err = appendFile(b[:0], f); err != nil {
			return err
		}
		bw.Write(b)
	}
	return bw.Flush()
}

// The numbers of CodeGeneratorResponse.error and .file.
const (
	errorFieldNumber = 1
	fileFieldNumber  = 15
)

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

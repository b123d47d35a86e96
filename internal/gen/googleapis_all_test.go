package gen

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/svcgen/protoc-gen-svc/internal/testenv"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// allGoogleapisModule is the last genproto that held nearly every googleapis
// package itself (later versions moved the Cloud APIs into the modules of
// cloud.google.com/go, one module per API): 1,740 .pb.go files in 268
// packages, of which 534 files declare services.
const allGoogleapisModule = "google.golang.org/genproto@v0.0.0-20220822174746-9e6da59bd2fc"

// allGoogleapisDump writes the descriptors of every file registered by the
// packages it imports (added to its import block) as a FileDescriptorSet.
const allGoogleapisDump = `package main

import (
	"os"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

func main() {
	set := &descriptorpb.FileDescriptorSet{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
		return true
	})
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(set)
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(b)
}
`

// allGoogleapisRequest is the request protoc would send to generate every
// googleapis file with services in one run: the descriptors embedded in
// every package of allGoogleapisModule, dumped by a program that imports
// them all.
func allGoogleapisRequest(t testing.TB) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	modDir := moduleDir(t, allGoogleapisModule)
	module, version, _ := strings.Cut(allGoogleapisModule, "@")
	pkgs := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(modDir, "googleapis"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".pb.go") {
			rel, err := filepath.Rel(modDir, filepath.Dir(p))
			if err != nil {
				return err
			}
			pkgs[module+"/"+filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var imports []string
	for p := range pkgs {
		imports = append(imports, fmt.Sprintf("\t_ %q\n", p))
	}
	sort.Strings(imports)
	main := strings.Replace(allGoogleapisDump, "import (\n", "import (\n"+strings.Join(imports, ""), 1)
	mod := "module example.com/dump\n\ngo 1.26\n\nrequire (\n\t" + module + " " + version + "\n\tgoogle.golang.org/protobuf v1.36.12\n)\n"
	dir := t.TempDir()
	for name, content := range map[string]string{"main.go": main, "go.mod": mod} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = dir
	// A few packages of that genproto declare the same messages as another
	// (google.cloud.secrets.v1beta1 is in two of them); the registry keeps
	// the first, as a program linking both does with this setting.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOLANG_PROTOBUF_REGISTRATION_CONFLICT=warn")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dumping the googleapis descriptors of %s: %v\n%s", allGoogleapisModule, err, stderr.String())
	}
	set := &descriptorpb.FileDescriptorSet{}
	if err := proto.Unmarshal(out, set); err != nil {
		t.Fatal(err)
	}
	// Files are built imports first. One declaring a name that another file
	// declared first is left out (and the files importing it), as the
	// registry left out its messages.
	byPath := map[string]*descriptorpb.FileDescriptorProto{}
	for _, fdp := range set.File {
		byPath[fdp.GetName()] = fdp
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	files := new(protoregistry.Files)
	var all []protoreflect.FileDescriptor
	var generate, dropped []string
	done := map[string]bool{}
	var build func(path string) bool
	build = func(path string) bool {
		if ok, seen := done[path]; seen {
			return ok
		}
		done[path] = false
		fdp := byPath[path]
		ok := fdp != nil
		for _, dep := range fdp.GetDependency() {
			ok = build(dep) && ok
		}
		if ok {
			fd, err := protodesc.NewFile(fdp, files)
			if err == nil {
				err = files.RegisterFile(fd)
			}
			if ok = err == nil; ok {
				all = append(all, fd)
				if fd.Services().Len() > 0 && !strings.HasPrefix(fd.Path(), "google/protobuf/") {
					generate = append(generate, fd.Path())
				}
			}
		}
		if !ok {
			dropped = append(dropped, path)
		}
		done[path] = ok
		return ok
	}
	for _, p := range paths {
		build(p)
	}
	if len(dropped) > 0 {
		t.Logf("left out %d files declaring names of another: %v", len(dropped), dropped)
	}
	return &pluginpb.CodeGeneratorRequest{
		FileToGenerate: generate,
		Parameter:      proto.String("paths=source_relative"),
		ProtoFile:      dependenciesFirst(all...),
	}
}

// minGoogleapisServed is how many standard-named methods of allGoogleapisModule
// were served when this was last raised: serving fewer is a regression.
const minGoogleapisServed = 3279

// standardName matches the methods named like AIP standard methods.
var standardName = regexp.MustCompile(`^(Get|List|Create|Update|Delete|Undelete|BatchGet|BatchCreate|BatchUpdate|BatchDelete)[A-Z]`)

// TestAllGoogleapis generates every googleapis file with services in one
// request and requires no error: a generated name colliding with one of
// Google's gets another (see claimGenerated). It logs how many
// standard-named methods are served, and why the others are not.
func TestAllGoogleapis(t *testing.T) {
	testenv.Slow(t, "downloads genproto and builds all of googleapis")
	req := allGoogleapisRequest(t)
	resp, lines := RespondWithReport(proto.CloneOf(req))
	if resp.Error != nil {
		t.Fatalf("generating %d googleapis files in one request: %s", len(req.FileToGenerate), resp.GetError())
	}
	t.Logf("%d files with services generated into %d files", len(req.FileToGenerate), len(resp.File))
	for _, l := range lines {
		if strings.Contains(l, "Named ") {
			t.Log(l)
		}
	}
	report := explained(t, req)
	files, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: req.GetProtoFile()})
	if err != nil {
		t.Fatal(err)
	}
	var served, unserved, fully int
	queries := map[string]int{} // served Lists taking filter, order_by
	reasons := map[string]int{}
	refused := map[string]int{} // request field name: served methods refusing it
	for method, account := range report {
		if !standardName.MatchString(method[strings.LastIndex(method, ".")+1:]) {
			continue
		}
		if strings.HasPrefix(account, "served from ") {
			served++
			for _, f := range []string{"filter", "order_by"} {
				if aipListField(files, method, f) {
					queries[f]++
				}
			}
			fields := refusedFields(account)
			if len(fields) == 0 {
				fully++
			}
			for _, f := range fields {
				// SVC_DEBUG_REFUSED=parent logs the methods refusing parent.
				if f == os.Getenv("SVC_DEBUG_REFUSED") {
					t.Logf("DEBUG %s: %s", method, account)
				}
				refused[f]++
				if (f == "filter" || f == "order_by") && aipListField(files, method, f) {
					t.Errorf("%s is served but refuses %s: %s", method, f, account)
				}
			}
			continue
		}
		unserved++
		reasons[reasonOf(account)]++
		// SVC_DEBUG_UNSERVED=sub-resource logs the methods unserved for it.
		if d := os.Getenv("SVC_DEBUG_UNSERVED"); d != "" && strings.Contains(account, d) {
			t.Logf("DEBUG %s: %s", method, account)
		}
	}
	total := served + unserved
	if total == 0 {
		t.Fatal("no standard-named methods in googleapis")
	}
	t.Logf("standard-named methods: %d, served %d (%.1f%%), unserved %d", total, served, 100*float64(served)/float64(total), unserved)
	if served < minGoogleapisServed {
		t.Errorf("served %d standard-named methods, fewer than the %d served before: a change stopped serving some (SVC_DEBUG_UNSERVED=<reason> logs them)", served, minGoogleapisServed)
	}
	keys := make([]string, 0, len(reasons))
	for r := range reasons {
		keys = append(keys, r)
	}
	sort.Slice(keys, func(i, j int) bool {
		if reasons[keys[i]] != reasons[keys[j]] {
			return reasons[keys[i]] > reasons[keys[j]]
		}
		return keys[i] < keys[j]
	})
	for _, r := range keys {
		t.Logf("%6d unserved: %s", reasons[r], r)
	}
	t.Logf("served Lists passing filter to the store: %d, order_by: %d (none refuses either)", queries["filter"], queries["order_by"])
	t.Logf("served without refusing any request field: %d (%.1f%% of standard-named methods)", fully, 100*float64(fully)/float64(total))
	fields := make([]string, 0, len(refused))
	for f := range refused {
		fields = append(fields, f)
	}
	sort.Slice(fields, func(i, j int) bool {
		if refused[fields[i]] != refused[fields[j]] {
			return refused[fields[i]] > refused[fields[j]]
		}
		return fields[i] < fields[j]
	})
	for _, f := range fields[:min(len(fields), 15)] {
		t.Logf("%6d served methods refuse request field %s", refused[f], f)
	}
}

// aipListField reports whether field of method's request is an AIP-132/160
// string (filter, order_by) of a List: those must be served. A filter of
// another type (dataflow's enum) or on a Get (datalabeling's GetExample
// filters what the answer contains) is not a query of the collection.
func aipListField(files *protoregistry.Files, method, field string) bool {
	d, err := files.FindDescriptorByName(protoreflect.FullName(method))
	if err != nil {
		return true
	}
	md, ok := d.(protoreflect.MethodDescriptor)
	if !ok || !strings.HasPrefix(string(md.Name()), "List") {
		return false
	}
	fd := md.Input().Fields().ByName(protoreflect.Name(field))
	return fd != nil && fd.Kind() == protoreflect.StringKind && !fd.IsList()
}

// refusedFields returns the request fields a served method's account says
// it refuses with Unimplemented.
func refusedFields(account string) []string {
	var out []string
	for _, m := range refusedNote.FindAllStringSubmatch(account, -1) {
		for f := range strings.SplitSeq(m[1], ", ") {
			out = append(out, f)
		}
	}
	return out
}

var refusedNote = regexp.MustCompile(`a request that sets [A-Za-z0-9_]+\.([a-z0-9_, ]+) answers codes\.Unimplemented`)

// reasonOf groups an explain account of an unserved method: its reason with
// the names of proto elements and Go identifiers replaced by "X".
func reasonOf(account string) string {
	r := strings.TrimPrefix(account, "Unimplemented: ")
	// A List's account of each repeated field is grouped as one reason.
	if before, _, ok := strings.Cut(r, " of a resource ("); ok {
		r = before + " of a resource"
	}
	r = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+`).ReplaceAllString(r, "X")
	r = regexp.MustCompile(`\b[A-Z][A-Za-z0-9_]*\b`).ReplaceAllString(r, "X")
	return r
}

package gen

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

// Generation speed, against protoc-gen-go-grpc on the very same request.
//
//	go test -run '^$' -bench BenchmarkGenerate -benchmem -count 6 ./internal/gen | tee /tmp/bench-gen.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /plugin /tmp/bench-gen.txt
//
// Both plugins run as processes, as protoc and buf run them, fed the same
// marshalled CodeGeneratorRequest on stdin; a run is process start to exit
// (reading the request, generating, writing the response). The requests are
// the large synthetic one (largereq_test.go, 300 files, 3,240 methods), all
// of googleapis in one request (allGoogleapisRequest: the descriptors
// embedded in genproto's packages) and the real corpora of TestRealCorpora
// (downloaded through the module proxy).
//
// BenchmarkRespond runs the same large request in process, for pprof:
//
//	go test -run '^$' -bench BenchmarkRespond -cpuprofile /tmp/cpu.out ./internal/gen
//
// BenchmarkScale shows how time and the plugin process's peak memory grow
// with the request, at 1x, 4x and 16x the large request.

// benchPlugins are the plugins compared, by sub-benchmark name:
// protoc-gen-svc, protoc-gen-go-grpc and, when SVC_BENCH_BASELINE names a
// protoc-gen-svc binary built before a change, that one as "baseline", run
// in the same loop so that both see the same machine:
//
//	git stash && go build -o /tmp/protoc-gen-svc-before ./cmd/protoc-gen-svc && git stash pop
//	SVC_BENCH_BASELINE=/tmp/protoc-gen-svc-before go test -run '^$' -bench BenchmarkGenerate -count 6 ./internal/gen
var benchPlugins = func() []string {
	plugins := []string{"protoc-gen-svc", "protoc-gen-go-grpc"}
	if os.Getenv("SVC_BENCH_BASELINE") != "" {
		plugins = append(plugins, "baseline")
	}
	return plugins
}()

func benchPluginPath(b *testing.B, name string) string {
	switch name {
	case "protoc-gen-svc":
		return pluginBinary(b)
	case "baseline":
		return os.Getenv("SVC_BENCH_BASELINE")
	}
	return tool(b, name)
}

// runPluginProcess runs binary with in on stdin, its output in stdout, and
// returns the user + system CPU time it took.
func runPluginProcess(tb testing.TB, binary string, in []byte, stdout *bytes.Buffer) time.Duration {
	stdout.Reset()
	cmd := exec.Command(binary)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout = stdout
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s: %v\n%s", filepath.Base(binary), err, stderr.Bytes())
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// maxRSS returns the peak resident set size of binary run on in.
//
// The rusage of a child started from this process would not do: os/exec
// starts children with vfork, so the child's mm is this process's until it
// calls exec, and Linux counts that mm's high-water mark (this test
// process's, hundreds of MB with the large requests cached) in the child's
// ru_maxrss. So the plugin is started from a fresh copy of the test binary
// (TestMaxRSSHelper), whose own high-water mark is the floor of the
// measure; maxRSSFloor measures it with /bin/true.
func maxRSS(tb testing.TB, binary string, in []byte) int64 {
	tb.Helper()
	dir := tb.TempDir()
	stdin, result := filepath.Join(dir, "stdin"), filepath.Join(dir, "maxrss")
	if err := os.WriteFile(stdin, in, 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMaxRSSHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SVC_MAXRSS_PLUGIN="+binary, "SVC_MAXRSS_STDIN="+stdin, "SVC_MAXRSS_RESULT="+result)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("measuring the peak memory of %s: %v\n%s", filepath.Base(binary), err, out)
	}
	b, err := os.ReadFile(result)
	if err != nil {
		tb.Fatal(err)
	}
	kb, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return kb * 1024
}

var (
	rssFloorOnce sync.Once
	rssFloor     int64
)

// maxRSSFloor is what maxRSS reports for a program that uses no memory.
func maxRSSFloor(tb testing.TB) int64 {
	rssFloorOnce.Do(func() {
		if _, err := os.Stat("/bin/true"); err == nil {
			rssFloor = maxRSS(tb, "/bin/true", nil)
		}
	})
	return rssFloor
}

// TestMaxRSSHelper is not a test: it is the helper process of maxRSS, which
// sets SVC_MAXRSS_*. It runs the plugin on the request and writes the
// plugin's peak RSS, in kilobytes, to the result file.
func TestMaxRSSHelper(t *testing.T) {
	binary := os.Getenv("SVC_MAXRSS_PLUGIN")
	if binary == "" {
		t.Skip("the helper process of the benchmarks' peak memory measure")
	}
	stdin, err := os.Open(os.Getenv("SVC_MAXRSS_STDIN"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	cmd := exec.Command(binary)
	cmd.Stdin = stdin // a file: no copying goroutine, no buffer in this process
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatal("no rusage on this platform")
	}
	if err := os.WriteFile(os.Getenv("SVC_MAXRSS_RESULT"), []byte(strconv.FormatInt(ru.Maxrss, 10)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkResponse fails unless out is a CodeGeneratorResponse with files and
// no error.
func checkResponse(tb testing.TB, plugin string, out []byte) *pluginpb.CodeGeneratorResponse {
	tb.Helper()
	resp := &pluginpb.CodeGeneratorResponse{}
	if err := proto.Unmarshal(out, resp); err != nil {
		tb.Fatalf("%s: %v", plugin, err)
	}
	if resp.Error != nil {
		tb.Fatalf("%s: %s", plugin, resp.GetError())
	}
	if len(resp.File) == 0 {
		tb.Fatalf("%s generated nothing", plugin)
	}
	return resp
}

// benchProcess times a plugin process on in, reporting its CPU time, its
// peak RSS and the output size.
func benchProcess(b *testing.B, plugin string, in []byte) {
	binary := benchPluginPath(b, plugin)
	var stdout bytes.Buffer
	// One untimed run checks the answer and warms the page cache.
	runPluginProcess(b, binary, in, &stdout)
	resp := checkResponse(b, plugin, stdout.Bytes())
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		cpu += runPluginProcess(b, binary, in, &stdout)
	}
	b.StopTimer()
	// CPU time says what the process cost, whatever else the machine runs
	// meanwhile; ns/op is the wall time a user waits.
	b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(maxRSS(b, binary, in))/(1<<20), "maxrss-MB")
	b.ReportMetric(float64(stdout.Len())/(1<<20), "out-MB")
	b.ReportMetric(float64(len(resp.File)), "files")
}

// benchRequest is one request the plugins are compared on.
type benchRequest struct {
	name string
	in   func(b *testing.B) []byte
}

func benchRequests() []benchRequest {
	reqs := []benchRequest{
		{"large1x", func(b *testing.B) []byte { return largeRequestBytes(b, 1) }},
		{"googleapis", googleapisRequestBytes},
	}
	for _, c := range corpora {
		reqs = append(reqs, benchRequest{c.name, func(b *testing.B) []byte {
			in, err := proto.Marshal(c.request(b))
			if err != nil {
				b.Fatal(err)
			}
			return in
		}})
	}
	return reqs
}

var allGoogleapisBench struct {
	once sync.Once
	in   []byte
}

// googleapisRequestBytes is allGoogleapisRequest marshalled, built once
// per process: all of googleapis in one request (534 files with services,
// 1,740 files in all).
func googleapisRequestBytes(b *testing.B) []byte {
	allGoogleapisBench.once.Do(func() {
		in, err := proto.Marshal(allGoogleapisRequest(b))
		if err != nil {
			b.Fatal(err)
		}
		allGoogleapisBench.in = in
	})
	if allGoogleapisBench.in == nil {
		b.Fatal("building the googleapis request failed")
	}
	return allGoogleapisBench.in
}

// BenchmarkGenerate compares protoc-gen-svc with protoc-gen-go-grpc, both as
// processes on the same request bytes.
func BenchmarkGenerate(b *testing.B) {
	for _, r := range benchRequests() {
		b.Run("req="+r.name, func(b *testing.B) {
			in := r.in(b)
			for _, plugin := range benchPlugins {
				b.Run("plugin="+plugin, func(b *testing.B) { benchProcess(b, plugin, in) })
			}
		})
	}
}

// BenchmarkScale runs both plugins on the large request at 1x, 4x and 16x,
// reporting time, time per method and peak memory.
func BenchmarkScale(b *testing.B) {
	for _, scale := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("scale=%dx", scale), func(b *testing.B) {
			in := largeRequestBytes(b, scale)
			methods := largeMethods(largeRequest(b, scale))
			for _, plugin := range benchPlugins {
				b.Run("plugin="+plugin, func(b *testing.B) {
					benchProcess(b, plugin, in)
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(methods), "ns/method")
					b.ReportMetric(float64(len(in))/(1<<20), "in-MB")
					b.ReportMetric(float64(maxRSSFloor(b))/(1<<20), "rss-floor-MB")
				})
			}
		})
	}
}

// largeMethods counts the methods of the files to generate.
func largeMethods(req *pluginpb.CodeGeneratorRequest) int {
	n := 0
	for _, f := range req.ProtoFile {
		for _, s := range f.GetService() {
			n += len(s.GetMethod())
		}
	}
	return n
}

// BenchmarkRespond is the plugin's whole work on the large request in
// process, from request bytes to response bytes, as the binary does it:
// the benchmark to profile.
func BenchmarkRespond(b *testing.B) {
	for _, scale := range []int{1} {
		b.Run(fmt.Sprintf("large%dx", scale), func(b *testing.B) {
			in := largeRequestBytes(b, scale)
			var out bytes.Buffer
			if err := Run(bytes.NewReader(in), &out, io.Discard); err != nil {
				b.Fatal(err)
			}
			checkResponse(b, "Run", out.Bytes())
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := Run(bytes.NewReader(in), io.Discard, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

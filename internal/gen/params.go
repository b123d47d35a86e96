package gen

import (
	"fmt"
	"github.com/svcgen/protoc-gen-svc/internal/callpolicy"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

// Artifact names one kind of generated code. Which ones are emitted is the
// artifacts plugin option.
type Artifact string

// The artifacts protoc-gen-svc can emit for a service.
const (
	ArtifactServer Artifact = "server" // the server skeleton
	ArtifactClient Artifact = "client" // the client wrapper with timeouts and retries
	ArtifactRepo   Artifact = "repo"   // repositories for the resources a service manages
)

// allArtifacts is the order artifacts are documented and emitted in.
var allArtifacts = []Artifact{ArtifactServer, ArtifactClient, ArtifactRepo}

// Built-in defaults, used when neither the schema nor a plugin option says
// otherwise.
const (
	// builtinUnaryTimeout bounds unary calls. Streaming calls get no default
	// deadline: a watch stream is meant to outlive any fixed timeout.
	builtinUnaryTimeout      = callpolicy.UnaryTimeout
	builtinMaxAttempts       = callpolicy.MaxAttempts
	builtinInitialBackoff    = callpolicy.InitialBackoff
	builtinMaxBackoff        = callpolicy.MaxBackoff
	builtinBackoffMultiplier = callpolicy.BackoffMultiplier
)

// Bounds beyond which a value is a mistake (a unit slip, a stray digit)
// rather than a policy; the schema options have the same bounds.
const (
	maxRetryAttempts     = 10
	maxTimeout           = 24 * time.Hour
	maxBackoff           = time.Hour
	maxBackoffMultiplier = 10
)

// Params are the plugin's own parameters, parsed from the
// --svc_opt / buf.gen.yaml "opt" values that protogen does not handle itself.
type Params struct {
	// Artifacts is the set of artifacts to emit.
	Artifacts map[Artifact]bool

	// DefaultTimeout is the project-wide default deadline for every method
	// without one in the schema; nil means the built-in default (30s for
	// unary calls, none for streams). Zero means no default deadline.
	DefaultTimeout *time.Duration

	// Retry holds project-wide retry defaults for retryable methods; unset
	// fields fall back to the built-in defaults.
	Retry RetryDefaults

	// Explain prints, on stderr, how every method is served or why it is
	// not. It never changes the generated code.
	Explain bool
}

// RetryDefaults are the plugin-option defaults of the retry policy. A nil
// field is unset.
type RetryDefaults struct {
	MaxAttempts       *int
	InitialBackoff    *time.Duration
	MaxBackoff        *time.Duration
	BackoffMultiplier *float64
	Codes             []codes.Code
	PerAttemptTimeout *time.Duration
}

// DefaultParams returns the parameters used when no option is given.
func DefaultParams() Params {
	p := Params{Artifacts: map[Artifact]bool{}}
	for _, a := range allArtifacts {
		p.Artifacts[a] = true
	}
	return p
}

// option describes one plugin option: its name, the shape of its value for
// error messages and the README, and how to apply it.
type option struct {
	name  string
	want  string
	apply func(p *Params, value string) error
}

// options lists every plugin option protoc-gen-svc accepts, besides
// protogen's own (paths, module, M...).
var options = []option{
	{"artifacts", `a "+"-separated list of server, client, repo, each once (e.g. server+client)`, parseArtifacts},
	{"explain", "true or false: print on stderr how every method is served, or why it is not", func(p *Params, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errBadValue
		}
		p.Explain = b
		return nil
	}},
	{"default_timeout", "a non-negative Go duration up to 24h such as 500ms or 2s (0 = no default deadline)", func(p *Params, v string) error {
		d, err := parseDuration(v)
		if d > maxTimeout {
			return errBadValue
		}
		p.DefaultTimeout = &d
		return err
	}},
	{"retry_max_attempts", fmt.Sprintf("an integer from 1 to %d counting the first call", maxRetryAttempts), func(p *Params, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRetryAttempts {
			return errBadValue
		}
		p.Retry.MaxAttempts = &n
		return nil
	}},
	{"retry_initial_backoff", "a positive Go duration up to 1h such as 100ms", func(p *Params, v string) error {
		d, err := parseBackoff(v)
		p.Retry.InitialBackoff = &d
		return err
	}},
	{"retry_max_backoff", "a positive Go duration up to 1h such as 5s", func(p *Params, v string) error {
		d, err := parseBackoff(v)
		p.Retry.MaxBackoff = &d
		return err
	}},
	{"retry_backoff_multiplier", fmt.Sprintf("a number from 1 to %d such as 1.6", maxBackoffMultiplier), func(p *Params, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 1 || f > maxBackoffMultiplier || math.IsInf(f, 0) || math.IsNaN(f) {
			return errBadValue
		}
		p.Retry.BackoffMultiplier = &f
		return nil
	}},
	{"retry_codes", `a "+"-separated list of gRPC code names such as UNAVAILABLE+RESOURCE_EXHAUSTED`, func(p *Params, v string) error {
		cs, err := parseCodes(strings.Split(v, "+"))
		p.Retry.Codes = cs
		return err
	}},
	{"retry_per_attempt_timeout", "a non-negative Go duration up to 24h such as 1s (0 = none)", func(p *Params, v string) error {
		d, err := parseDuration(v)
		if d > maxTimeout {
			return errBadValue
		}
		p.Retry.PerAttemptTimeout = &d
		return err
	}},
}

// errBadValue marks a value that does not have the shape an option wants;
// SetParam turns it into a message naming the option and the value.
var errBadValue = fmt.Errorf("bad value")

// SetParam applies one plugin parameter. It is protogen's ParamFunc: protogen
// calls it with every parameter it does not know itself. The error names the
// option and the value, in one line.
func (p *Params) SetParam(name, value string) error {
	for _, o := range options {
		if o.name != name {
			continue
		}
		if err := o.apply(p, value); err != nil {
			return fmt.Errorf("invalid value %q for option %s: want %s", value, name, o.want)
		}
		return nil
	}
	known := make([]string, 0, len(options))
	for _, o := range options {
		known = append(known, o.name)
	}
	return fmt.Errorf("unknown option %q (value %q); known options: %s, and protogen's paths, module and M<file>", name, value, strings.Join(known, ", "))
}

// CheckParameter checks the shape of the whole plugin parameter (the
// comma-separated --svc_opt / buf "opt" values) before protogen splits it,
// for the mistakes protogen would let through or misreport: an empty
// element, an option without "=" (M<file> among them), and an option given
// twice. Values are checked afterwards, one by one, by SetParam.
func CheckParameter(parameter string) error {
	if parameter == "" {
		return nil
	}
	seen := map[string]string{}
	for _, elem := range strings.Split(parameter, ",") {
		name, value, hasValue := strings.Cut(elem, "=")
		switch {
		case strings.TrimSpace(elem) == "":
			return fmt.Errorf("the plugin parameter %q has an empty option (two commas in a row, or a leading or trailing comma); options are separated by \",\", the artifacts of a list by \"+\"", parameter)
		case name == "":
			return fmt.Errorf("option %q has no name", elem)
		case strings.HasPrefix(name, "M") && (!hasValue || value == ""):
			return fmt.Errorf("option %s has no Go import path: write M<file>=<import path>, e.g. Mfoo/v1/foo.proto=example.com/foo/v1", name)
		case !hasValue && isArtifact(Artifact(name)):
			return fmt.Errorf("%q is not an option but an artifact: list artifacts with \"+\" in one option, e.g. artifacts=server+client", name)
		case !hasValue && name != "annotate_code":
			if isOption(name) {
				return fmt.Errorf("option %s has no value: write %s=<value>", name, name)
			}
		}
		if prev, dup := seen[name]; dup {
			return fmt.Errorf("option %s is given twice (%q and %q); give it once", name, prev, value)
		}
		seen[name] = value
	}
	return nil
}

// isOption reports whether name is one of protoc-gen-svc's options or one
// of protogen's that take a value.
func isOption(name string) bool {
	if name == "paths" || name == "module" {
		return true
	}
	for _, o := range options {
		if o.name == name {
			return true
		}
	}
	return false
}

func parseArtifacts(p *Params, v string) error {
	if v == "" {
		return errBadValue
	}
	set := map[Artifact]bool{}
	for _, name := range strings.Split(v, "+") {
		a := Artifact(name)
		if !isArtifact(a) || set[a] {
			return errBadValue
		}
		set[a] = true
	}
	p.Artifacts = set
	return nil
}

func isArtifact(a Artifact) bool {
	for _, known := range allArtifacts {
		if a == known {
			return true
		}
	}
	return false
}

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errBadValue
	}
	return d, nil
}

// parseBackoff parses a backoff bound: positive, at most maxBackoff.
func parseBackoff(v string) (time.Duration, error) {
	d, err := parseDuration(v)
	if err != nil || d == 0 || d > maxBackoff {
		return 0, errBadValue
	}
	return d, nil
}

// codeByName returns the code of a canonical upper-case name
// ("UNAVAILABLE"), as the gRPC service config spells them.
func codeByName(name string) (codes.Code, bool) { return callpolicy.CodeByName(name) }

// codeName returns the canonical upper-case name of a code, e.g.
// "RESOURCE_EXHAUSTED".
func codeName(c codes.Code) string { return callpolicy.CodeName(c) }

// parseCodes parses code names, without duplicates and not OK, which can
// never be retried.
func parseCodes(names []string) ([]codes.Code, error) {
	seen := map[codes.Code]bool{}
	var out []codes.Code
	for _, n := range names {
		c, ok := codeByName(strings.TrimSpace(n))
		if !ok || c == codes.OK || seen[c] {
			return nil, errBadValue
		}
		seen[c] = true
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errBadValue
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

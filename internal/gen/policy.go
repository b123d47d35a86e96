package gen

import (
	"fmt"
	"github.com/svcgen/protoc-gen-svc/internal/callpolicy"
	"math"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/durationpb"

	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
)

// callPolicy is the resolved client policy of one method: what the generated
// method table says.
type callPolicy struct {
	timeout     time.Duration
	idempotency descriptorpb.MethodOptions_IdempotencyLevel
	auth        svcv1.Auth // AUTH_REQUIRED or AUTH_PUBLIC, never unspecified
	retry       retryPolicy
	hedging     *hedgingPolicy // nil: no hedging
}

// hedgingPolicy is a resolved hedging policy.
type hedgingPolicy struct {
	maxAttempts int
	delay       time.Duration
	codes       []codes.Code
}

// Defaults and bounds of (svc.v1.method).hedging.
const (
	builtinHedgingAttempts = callpolicy.HedgingAttempts
	builtinHedgingDelay    = callpolicy.HedgingDelay
	maxHedgingAttempts     = 5 // gRPC's cap on maxAttempts
)

// retryPolicy is a resolved retry policy; maxAttempts 1 means no retry.
type retryPolicy struct {
	maxAttempts       int
	initialBackoff    time.Duration
	maxBackoff        time.Duration
	backoffMultiplier float64
	codes             []codes.Code
	perAttemptTimeout time.Duration
}

// policyError names the option and the proto element a bad value is in.
type policyError struct {
	where  string // "file.proto: service pkg.S: method M"
	option string // "(svc.v1.method).retry.max_attempts"
	msg    string
}

func (e *policyError) Error() string {
	return fmt.Sprintf("%s: option %s: %s", e.where, e.option, e.msg)
}

// extension reads one of our options from a descriptor's options. When the
// options hold extensions of other types or unknown fields (as a message
// built by protoc or an in-process compiler may, for our extension), they
// are re-read through the global registry, where ours is registered.
func extension[T proto.Message](opts proto.Message, xt protoreflect.ExtensionType) (T, error) {
	var zero T
	if opts == nil || !opts.ProtoReflect().IsValid() {
		return zero, nil
	}
	m := opts.ProtoReflect()
	if xd := xt.TypeDescriptor(); m.Has(xd) {
		// The value may be a dynamic message of an equivalent descriptor.
		if v, ok := m.Get(xd).Message().Interface().(T); ok {
			return v, nil
		}
	} else {
		foreign := len(m.GetUnknown()) > 0
		m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
			foreign = foreign || fd.IsExtension()
			return !foreign
		})
		if !foreign {
			return zero, nil
		}
	}
	b, err := proto.Marshal(opts)
	if err != nil {
		return zero, err
	}
	fresh := m.Type().New().Interface()
	if err := (proto.UnmarshalOptions{Resolver: protoregistry.GlobalTypes}).Unmarshal(b, fresh); err != nil {
		return zero, err
	}
	if !proto.HasExtension(fresh, xt) {
		return zero, nil
	}
	return proto.GetExtension(fresh, xt).(T), nil
}

// servicePolicy reads and validates the service-level option.
func servicePolicy(file *protogen.File, svc *protogen.Service) (*svcv1.CallPolicy, error) {
	where := fmt.Sprintf("%s: service %s", file.Desc.Path(), svc.Desc.FullName())
	p, err := extension[*svcv1.CallPolicy](svc.Desc.Options(), svcv1.E_Service)
	if err != nil {
		return nil, fmt.Errorf("%s: reading option (svc.v1.service): %v", where, err)
	}
	return p, validatePolicy(p, where, "(svc.v1.service)")
}

// resolvePolicy computes a method's call policy, field by field: method
// option, then service option, then plugin option, then built-in default.
func resolvePolicy(file *protogen.File, svc *protogen.Service, m *protogen.Method, service *svcv1.CallPolicy, params Params) (callPolicy, error) {
	where := fmt.Sprintf("%s: service %s: method %s", file.Desc.Path(), svc.Desc.FullName(), m.Desc.Name())
	method, err := extension[*svcv1.CallPolicy](m.Desc.Options(), svcv1.E_Method)
	if err != nil {
		return callPolicy{}, fmt.Errorf("%s: reading option (svc.v1.method): %v", where, err)
	}
	if err := validatePolicy(method, where, "(svc.v1.method)"); err != nil {
		return callPolicy{}, err
	}
	kind := kindOf(m)
	cp := callPolicy{
		idempotency: m.Desc.Options().(*descriptorpb.MethodOptions).GetIdempotencyLevel(),
		auth:        svcv1.Auth_AUTH_REQUIRED,
	}

	// Authentication, which the server reads from the table: the method's,
	// else the service's, else required. svcprod.SchemaAuth reads the same
	// from the descriptors, for services generated without this table.
	switch {
	case method.GetAuth() != svcv1.Auth_AUTH_UNSPECIFIED:
		cp.auth = method.GetAuth()
	case service.GetAuth() != svcv1.Auth_AUTH_UNSPECIFIED:
		cp.auth = service.GetAuth()
	}

	// Timeout. Server-streaming and bidi calls are often meant to stay open
	// (watches, sessions): only their own method option gives them one.
	longLived := kind == serverStreaming || kind == bidiStreaming
	switch {
	case method.GetTimeout() != nil:
		cp.timeout = method.GetTimeout().AsDuration()
	case longLived:
	case service.GetTimeout() != nil:
		cp.timeout = service.GetTimeout().AsDuration()
	case params.DefaultTimeout != nil:
		cp.timeout = *params.DefaultTimeout
	case kind == unary:
		cp.timeout = builtinUnaryTimeout
	}

	// Whether to retry: the schema's explicit switch, else idempotency.
	mr, sr := method.GetRetry(), service.GetRetry()
	enabled := cp.idempotency == descriptorpb.MethodOptions_NO_SIDE_EFFECTS || cp.idempotency == descriptorpb.MethodOptions_IDEMPOTENT
	switch {
	case mr != nil && mr.Enabled != nil:
		enabled = mr.GetEnabled()
	case sr != nil && sr.Enabled != nil:
		enabled = sr.GetEnabled()
	}
	if kind == clientStreaming || kind == bidiStreaming {
		// Their messages are never replayed, whatever the service says; a
		// method that asks for it explicitly is a mistake worth reporting.
		if mr != nil && mr.GetEnabled() {
			return callPolicy{}, &policyError{where, "(svc.v1.method).retry.enabled", "client-streaming and bidi-streaming calls are never retried (their messages cannot be replayed)"}
		}
		enabled = false
	}
	if h := method.GetHedging(); h != nil {
		const option = "(svc.v1.method).hedging"
		switch {
		case kind != unary:
			return callPolicy{}, &policyError{where, option, "only unary methods can be hedged"}
		case cp.idempotency != descriptorpb.MethodOptions_NO_SIDE_EFFECTS:
			return callPolicy{}, &policyError{where, option, "only methods with idempotency_level = NO_SIDE_EFFECTS can be hedged (every attempt may reach the server)"}
		}
		hp := &hedgingPolicy{maxAttempts: builtinHedgingAttempts, delay: builtinHedgingDelay, codes: []codes.Code{codes.Unavailable}}
		if h.MaxAttempts != nil {
			hp.maxAttempts = int(h.GetMaxAttempts())
		}
		if h.Delay != nil {
			hp.delay = h.GetDelay().AsDuration()
		}
		if len(h.GetNonFatalCodes()) > 0 {
			hp.codes, _ = parseCodes(h.GetNonFatalCodes()) // validated already
		}
		cp.hedging = hp
	}

	cp.retry = retryPolicy{maxAttempts: 1}
	if !enabled {
		return cp, nil
	}

	r := retryPolicy{
		maxAttempts:       builtinMaxAttempts,
		initialBackoff:    builtinInitialBackoff,
		maxBackoff:        builtinMaxBackoff,
		backoffMultiplier: builtinBackoffMultiplier,
		codes:             []codes.Code{codes.Unavailable},
	}
	// Plugin options first, then the service, then the method: each later
	// layer overrides the fields it sets.
	d := params.Retry
	if d.MaxAttempts != nil {
		r.maxAttempts = *d.MaxAttempts
	}
	if d.InitialBackoff != nil {
		r.initialBackoff = *d.InitialBackoff
	}
	if d.MaxBackoff != nil {
		r.maxBackoff = *d.MaxBackoff
	}
	if d.BackoffMultiplier != nil {
		r.backoffMultiplier = *d.BackoffMultiplier
	}
	if d.Codes != nil {
		r.codes = d.Codes
	}
	if d.PerAttemptTimeout != nil {
		r.perAttemptTimeout = *d.PerAttemptTimeout
	}
	for _, layer := range []*svcv1.RetryPolicy{sr, mr} {
		if layer == nil {
			continue
		}
		if layer.MaxAttempts != nil {
			r.maxAttempts = int(layer.GetMaxAttempts())
		}
		if layer.InitialBackoff != nil {
			r.initialBackoff = layer.GetInitialBackoff().AsDuration()
		}
		if layer.MaxBackoff != nil {
			r.maxBackoff = layer.GetMaxBackoff().AsDuration()
		}
		if layer.BackoffMultiplier != nil {
			r.backoffMultiplier = layer.GetBackoffMultiplier()
		}
		if len(layer.GetRetryableCodes()) > 0 {
			r.codes, _ = parseCodes(layer.GetRetryableCodes()) // validated already
		}
		if layer.PerAttemptTimeout != nil {
			r.perAttemptTimeout = layer.GetPerAttemptTimeout().AsDuration()
		}
	}
	if r.maxBackoff < r.initialBackoff {
		return callPolicy{}, &policyError{where, "retry", fmt.Sprintf("the resolved max_backoff %v is shorter than initial_backoff %v", r.maxBackoff, r.initialBackoff)}
	}
	if kind == serverStreaming {
		// A stream's attempt lasts as long as the stream.
		r.perAttemptTimeout = 0
	}
	cp.retry = r
	return cp, nil
}

// validatePolicy checks the values of one option as written, so the error
// points at the layer that holds the bad value.
func validatePolicy(p *svcv1.CallPolicy, where, option string) error {
	if p == nil {
		return nil
	}
	bad := func(field, format string, args ...any) error {
		return &policyError{where, option + "." + field, fmt.Sprintf(format, args...)}
	}
	checkDuration := func(field string, d *durationpb.Duration, positive bool) error {
		if d == nil {
			return nil
		}
		if err := d.CheckValid(); err != nil {
			return bad(field, "invalid duration: %v", err)
		}
		if d.AsDuration() < 0 {
			return bad(field, "duration %v is negative", d.AsDuration())
		}
		if positive && d.AsDuration() == 0 {
			return bad(field, "duration must be positive")
		}
		return nil
	}
	if err := checkDuration("timeout", p.GetTimeout(), false); err != nil {
		return err
	}
	switch a := p.GetAuth(); a {
	case svcv1.Auth_AUTH_UNSPECIFIED, svcv1.Auth_AUTH_REQUIRED, svcv1.Auth_AUTH_PUBLIC:
	default:
		// An open enum holds any number; guessing would open or close a
		// method by accident.
		return bad("auth", "%d is not an svc.v1.Auth value (AUTH_REQUIRED or AUTH_PUBLIC)", int32(a))
	}
	if h := p.GetHedging(); h != nil {
		if option == "(svc.v1.service)" {
			return bad("hedging", "hedging is set per method, in (svc.v1.method).hedging, on methods with idempotency_level = NO_SIDE_EFFECTS")
		}
		if h.MaxAttempts != nil && (h.GetMaxAttempts() < 2 || h.GetMaxAttempts() > maxHedgingAttempts) {
			return bad("hedging.max_attempts", "%d: must be between 2 and %d (it counts the first attempt; gRPC caps it at %d)", h.GetMaxAttempts(), maxHedgingAttempts, maxHedgingAttempts)
		}
		if err := checkDuration("hedging.delay", h.GetDelay(), false); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, name := range h.GetNonFatalCodes() {
			if c, ok := codeByName(name); !ok || c == codes.OK {
				return bad("hedging.non_fatal_codes", "%q is not a gRPC code name to hedge on (such as UNAVAILABLE)", name)
			}
			if seen[name] {
				return bad("hedging.non_fatal_codes", "%q is listed twice", name)
			}
			seen[name] = true
		}
	}
	r := p.GetRetry()
	if r == nil {
		return nil
	}
	if r.MaxAttempts != nil && (r.GetMaxAttempts() < 1 || r.GetMaxAttempts() > maxRetryAttempts) {
		return bad("retry.max_attempts", "%d: must be from 1 to %d (it counts the first call)", r.GetMaxAttempts(), maxRetryAttempts)
	}
	if err := checkDuration("retry.initial_backoff", r.GetInitialBackoff(), true); err != nil {
		return err
	}
	if err := checkDuration("retry.max_backoff", r.GetMaxBackoff(), true); err != nil {
		return err
	}
	if err := checkDuration("retry.per_attempt_timeout", r.GetPerAttemptTimeout(), false); err != nil {
		return err
	}
	if m := r.BackoffMultiplier; m != nil && (*m < 1 || math.IsNaN(*m) || math.IsInf(*m, 0)) {
		return bad("retry.backoff_multiplier", "%v: must be a finite number >= 1", *m)
	}
	seen := map[string]bool{}
	for _, name := range r.GetRetryableCodes() {
		if c, ok := codeByName(name); !ok || c == codes.OK {
			return bad("retry.retryable_codes", "%q is not a retryable gRPC code name (such as UNAVAILABLE)", name)
		}
		if seen[name] {
			return bad("retry.retryable_codes", "%q is listed twice", name)
		}
		seen[name] = true
	}
	return nil
}

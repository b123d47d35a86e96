package svcprod

import (
	"fmt"
	"strings"
	"sync"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// IDRule checks a resource id or name; it returns nil when the id is
// acceptable, or why it is not (one line, for the client).
type IDRule func(id string) error

// Limits of AIP122, the default IDRule.
const (
	MaxIDSegmentLen = 63
	MaxIDLen        = 1024
)

// AIP122 is the default IDRule, after AIP-122 (resource names): an id is
// one or more segments separated by "/" ("espresso",
// "orders/3f2b0c1e-8d4f-4e7a-9c1d-2b3a4c5d6e7f"); each segment is 1 to 63
// characters from a-z, 0-9 and "-", neither starting nor ending with "-"
// (RFC 1034 labels, and UUIDs); the whole is at most 1024 bytes. So ".",
// "..", empty segments, upper case, spaces, NUL, newlines and other control
// characters, and ids too long to page through are refused.
func AIP122(id string) error {
	if len(id) > MaxIDLen {
		return fmt.Errorf("is %d bytes long; at most %d are allowed", len(id), MaxIDLen)
	}
	for seg := range strings.SplitSeq(id, "/") {
		if seg == "" {
			return fmt.Errorf("has an empty segment")
		}
		if len(seg) > MaxIDSegmentLen {
			return fmt.Errorf("has a segment of %d characters; at most %d are allowed", len(seg), MaxIDSegmentLen)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("contains %q; only a-z, 0-9, \"-\" and \"/\" between segments are allowed", rune(c))
			}
		}
		if seg[0] == '-' || seg[len(seg)-1] == '-' {
			return fmt.Errorf("has a segment that starts or ends with \"-\"")
		}
	}
	return nil
}

// IDOption configures WithIDCheck.
type IDOption func(*idConfig)

// IDRuleFor replaces the rule for one resource or one field. name is a
// resource message ("shop.v1.Product": its key field, and the name or id of
// the Get/Update/Delete/Create<Resource>Request messages), or a field
// ("shop.v1.GetProductRequest.name"), which wins. A nil rule leaves them
// unchecked.
func IDRuleFor(name protoreflect.FullName, rule IDRule) IDOption {
	return func(c *idConfig) { c.rules[name] = rule }
}

// DefaultIDRule replaces AIP122 as the rule of every id not named by
// IDRuleFor.
func DefaultIDRule(rule IDRule) IDOption {
	return func(c *idConfig) { c.def = rule }
}

type idConfig struct {
	def   IDRule
	rules map[protoreflect.FullName]IDRule
	plans sync.Map // protoreflect.FullName of a request → []idCheck
}

// WithIDCheck checks the resource ids in every request before the handler
// (and in every message a client streams): by default with AIP122. A bad id
// is answered with codes.InvalidArgument and a google.rpc.BadRequest field
// violation.
//
// The ids of a request are its top-level string fields named "name", "id"
// or "<something>_id" (but not "request_id", an idempotency key), and the
// "name" or "id" of its top-level message fields (the resource in a Create
// or Update request). Empty values are not checked: whether an id is
// required, and a server-assigned one, are the handler's business.
func WithIDCheck(opts ...IDOption) svcserver.Option {
	c := &idConfig{def: AIP122, rules: map[protoreflect.FullName]IDRule{}}
	for _, o := range opts {
		o(c)
	}
	return checkRequests(c.check)
}

// idCheck is one id field of a request: path from the request to it.
type idCheck struct {
	path  []protoreflect.FieldDescriptor
	field string // dotted path, for the violation
	rule  IDRule
}

func (c *idConfig) check(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	msg := m.ProtoReflect()
	var violations []*errdetails.BadRequest_FieldViolation
	for _, chk := range c.plan(msg.Descriptor()) {
		v := msg
		for _, fd := range chk.path[:len(chk.path)-1] {
			if !v.Has(fd) {
				v = nil
				break
			}
			v = v.Get(fd).Message()
		}
		if v == nil {
			continue
		}
		id := v.Get(chk.path[len(chk.path)-1]).String()
		if id == "" {
			continue
		}
		if err := chk.rule(id); err != nil {
			violations = append(violations, &errdetails.BadRequest_FieldViolation{
				Field:       chk.field,
				Description: chk.field + " " + err.Error(),
				Reason:      "INVALID_ID",
			})
		}
	}
	if violations == nil {
		return nil
	}
	st := status.New(codes.InvalidArgument, "invalid resource id: "+violations[0].Description)
	if ds, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: violations}); err == nil {
		st = ds
	}
	return st.Err()
}

// plan returns the id fields of a request message, computed once per type.
func (c *idConfig) plan(md protoreflect.MessageDescriptor) []idCheck {
	if p, ok := c.plans.Load(md.FullName()); ok {
		return p.([]idCheck)
	}
	var plan []idCheck
	add := func(path []protoreflect.FieldDescriptor, resource protoreflect.FullName) {
		fd := path[len(path)-1]
		rule, ok := c.rules[fd.FullName()]
		if !ok {
			rule, ok = c.rules[resource]
		}
		if !ok {
			rule = c.def
		}
		if rule == nil {
			return
		}
		names := make([]string, len(path))
		for i, f := range path {
			names[i] = string(f.Name())
		}
		plan = append(plan, idCheck{path: path, field: strings.Join(names, "."), rule: rule})
	}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Cardinality() == protoreflect.Repeated {
			continue
		}
		switch {
		case fd.Kind() == protoreflect.StringKind && isIDName(string(fd.Name())):
			add([]protoreflect.FieldDescriptor{fd}, requestResource(md))
		case fd.Kind() == protoreflect.MessageKind:
			sub := fd.Message().Fields()
			for _, key := range []protoreflect.Name{"name", "id"} {
				if kf := sub.ByName(key); kf != nil && kf.Kind() == protoreflect.StringKind && kf.Cardinality() != protoreflect.Repeated {
					add([]protoreflect.FieldDescriptor{fd, kf}, fd.Message().FullName())
					break
				}
			}
		}
	}
	c.plans.Store(md.FullName(), plan)
	return plan
}

func isIDName(name string) bool {
	return name == "name" || name == "id" || strings.HasSuffix(name, "_id") && name != "request_id"
}

// requestResource guesses the resource of an AIP standard method's request:
// shop.v1.GetProductRequest → shop.v1.Product.
func requestResource(md protoreflect.MessageDescriptor) protoreflect.FullName {
	name, ok := strings.CutSuffix(string(md.Name()), "Request")
	if !ok {
		return ""
	}
	for _, verb := range []string{"Get", "Update", "Delete", "Create", "Undelete"} {
		if r, ok := strings.CutPrefix(name, verb); ok && r != "" {
			return md.ParentFile().Package().Append(protoreflect.Name(r))
		}
	}
	return ""
}

package gen

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// An API's own operations, from before google.longrunning (GKE's
// google.container.v1.Operation): a Create, Update or Delete that answers a
// message named Operation which is a resource with a status enum holding
// DONE, when the same service reads it back (a Get answering it), is
// served as the standard method of the resource its noun names; the
// skeleton does the work at once and records a done Operation in the
// Operation repository, which the service's own GetOperation and
// ListOperations read.

// ownOperation is how a method records the service's own Operation.
type ownOperation struct {
	op     *resourceModel
	status *protogen.Field
	done   *protogen.EnumValue
	// opType and kind are the operation_type enum and its value named
	// after the method (CREATE_CLUSTER for CreateCluster), when both exist.
	opType *protogen.Field
	kind   *protogen.EnumValue
	target *protogen.Field // target_link: the name of the resource worked on
	// times are start_time and end_time, strings (RFC 3339, as GKE's) or
	// google.protobuf.Timestamps, both the moment the work was done.
	times []*protogen.Field
}

// ownOperationOf returns how the method records out, the service's own
// Operation, or nil when out is none (or the verb is not one served so).
func (c *methodContext) ownOperationOf(verb string, out *protogen.Message) *ownOperation {
	if out.Desc.Name() != "Operation" || c.noun == "Operation" || !slices.Contains([]string{"Create", "Update", "Delete"}, verb) {
		return nil
	}
	r := c.resources.resource(out)
	if r == nil || keyKindOf(r.key) != keyString {
		return nil
	}
	o := &ownOperation{op: r, status: field(out, "status")}
	if o.status == nil || o.status.Enum == nil || !isPlain(o.status, protoreflect.EnumKind) {
		return nil
	}
	o.done = enumValue(o.status.Enum, "DONE")
	if o.done == nil {
		return nil
	}
	readBack := false
	for _, m := range c.svc.Methods {
		if v, _, _ := splitVerb(string(m.Desc.Name())); v == "Get" && m.Output == out {
			readBack = true
		}
	}
	if !readBack {
		return nil
	}
	if f := field(out, "operation_type"); f != nil && f.Enum != nil && isPlain(f, protoreflect.EnumKind) {
		if v := enumValue(f.Enum, strings.ToUpper(snake(verb+c.noun))); v != nil {
			o.opType, o.kind = f, v
		}
	}
	if f := field(out, "target_link"); f != nil && isPlain(f, protoreflect.StringKind) {
		o.target = f
	}
	for _, name := range []string{"start_time", "end_time"} {
		if f := field(out, name); f != nil && (isPlain(f, protoreflect.StringKind) || timestampField(out, name) != nil) {
			o.times = append(o.times, f)
		}
	}
	return o
}

// enumValue returns e's value of the given name, or nil.
func enumValue(e *protogen.Enum, name string) *protogen.EnumValue {
	for _, v := range e.Values {
		if string(v.Desc.Name()) == name {
			return v
		}
	}
	return nil
}

// note is the doc comment's account of the recorded Operation.
func (o *ownOperation) note() string {
	var set []string
	if o.kind != nil {
		set = append(set, fmt.Sprintf("%s %s", o.opType.Desc.Name(), o.kind.Desc.Name()))
	}
	if o.target != nil {
		set = append(set, fmt.Sprintf("%s the name of the resource worked on", o.target.Desc.Name()))
	}
	for _, f := range o.times {
		set = append(set, fmt.Sprintf("%s now", f.Desc.Name()))
	}
	with := ""
	if len(set) > 0 {
		with = " and " + strings.Join(set, ", ")
	}
	name := o.op.msg.Desc.Name()
	return fmt.Sprintf("it answers the service's own %s (not google.longrunning's): the work is done at once, and %s %s with %s %s%s, named <the resource's parent>/operations/<a server-assigned id>, is kept in the %s repository, which Get%s reads; a skeleton without that repository answers codes.Unimplemented",
		name, article(string(name)), name, o.status.Desc.Name(), o.done.Desc.Name(), with, name, name)
}

// ownOperationGuard answers Unimplemented when the skeleton has no
// repository of the service's operations.
func (w *methodWriter) ownOperationGuard() {
	w.P("if ", w.recv, ".repos.", w.sm.repoField(w.std.out.ownOp.op), " == nil {")
	w.P("return ", unimplementedResult(w.g, w.mm))
	w.P("}")
}

// respondOwnOperation writes the return of a method answering the
// service's own Operation: call (a repository call returning the resource,
// or only an error for an empty answer) is made, and a done Operation about
// target (the resource's name; "" for the name call returns) is recorded
// and answered. stored says whether the Operation is kept (not for a
// validate_only preview, whose call is "").
func (w *methodWriter) respondOwnOperation(call, target string, stored bool) {
	o := w.std.out.ownOp
	if call != "" {
		if w.std.out.empty {
			w.P("if _, ", w.err, " := ", call, "; ", w.failed(), " {")
			w.P("return nil, ", w.err)
			w.P("}")
		} else {
			res := w.v.of("res")
			w.P(res, ", ", w.err, " := ", call)
			w.onError("nil, ")
			target = w.get(res, w.std.resource.key)
		}
	}
	opMsg := o.op.msg
	var fields []string
	if stored {
		fields = append(fields, o.op.key.GoName, w.id(svcaipPackage, "OperationName")+"("+target+")")
	}
	fields = append(fields, o.status.GoName, w.id(o.done.GoIdent.GoImportPath, o.done.GoIdent.GoName))
	if o.kind != nil {
		fields = append(fields, o.opType.GoName, w.id(o.kind.GoIdent.GoImportPath, o.kind.GoIdent.GoName))
	}
	if o.target != nil {
		fields = append(fields, o.target.GoName, target)
	}
	if len(o.times) > 0 {
		now := w.v.of("now")
		w.P(now, " := ", w.id(timePackage, "Now"), "()")
		for _, f := range o.times {
			// (Naming a package imports it: only the one used.)
			var v string
			if f.Desc.Kind() == protoreflect.StringKind {
				v = now + ".UTC().Format(" + w.id(timePackage, "RFC3339Nano") + ")"
			} else {
				v = w.id(timestampPackage, "New") + "(" + now + ")"
			}
			fields = append(fields, f.GoName, v)
		}
	}
	op := w.v.of("op")
	w.P(op, " := ", w.a.newMessage(opMsg, fields...))
	if !stored {
		w.P("return ", op, ", nil")
		return
	}
	w.P("return ", w.recv, ".repos.", w.sm.repoField(o.op), ".Create(", w.ctx, ", ", op, ")")
}

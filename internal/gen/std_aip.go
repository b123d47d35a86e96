package gen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.einride.tech/aip/resourcename"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Field behaviour (AIP-203) and resource names (AIP-122) in standard
// methods. The checks live in the svcaip runtime package, which reads the
// behaviours from the descriptors; the generator decides which calls a
// method needs, so that a resource whose protos declare neither behaviour
// nor patterns gets the same code as before:
//
//   - every request with REQUIRED top-level fields: svcaip.CheckRequired;
//   - every name a request carries (Get, Delete, Update; a Create's new
//     name once composed): svcaip.CheckName against the resource's
//     google.api.resource patterns;
//   - Create: svcaip.PrepareCreate on a copy of the resource (OUTPUT_ONLY
//     and IDENTIFIER cleared, REQUIRED checked);
//   - Update: svcaip.PrepareUpdate against the stored resource (REQUIRED
//     under the mask, IMMUTABLE unchanged, OUTPUT_ONLY kept).

const svcaipPackage = protogen.GoImportPath("github.com/svcgen/protoc-gen-svc/svcaip")

// behaviours is which field behaviours a message declares, at any depth.
type behaviours struct {
	required, outputOnly, immutable, identifier bool
}

func (b behaviours) any() bool { return b.required || b.outputOnly || b.immutable || b.identifier }

// fieldBehaviours returns the (google.api.field_behavior) values of f. The
// values are read through reflection, so that options an in-process
// compiler built (dynamic messages) read as protoc's do; options holding
// the extension as unknown fields are read again through the global
// registry.
func fieldBehaviours(f *protogen.Field) []annotations.FieldBehavior {
	opts := f.Desc.Options()
	if opts == nil || !opts.ProtoReflect().IsValid() {
		return nil
	}
	m := opts.ProtoReflect()
	if xd := annotations.E_FieldBehavior.TypeDescriptor(); m.Has(xd) {
		l := m.Get(xd).List()
		out := make([]annotations.FieldBehavior, l.Len())
		for i := range l.Len() {
			out[i] = annotations.FieldBehavior(l.Get(i).Enum())
		}
		return out
	}
	if len(m.GetUnknown()) == 0 {
		return nil
	}
	b, err := proto.Marshal(opts)
	if err != nil {
		return nil
	}
	fresh := &descriptorpb.FieldOptions{}
	if err := (proto.UnmarshalOptions{Resolver: protoregistry.GlobalTypes}).Unmarshal(b, fresh); err != nil {
		return nil
	}
	v, _ := proto.GetExtension(fresh, annotations.E_FieldBehavior).([]annotations.FieldBehavior)
	return v
}

func hasBehaviour(f *protogen.Field, want annotations.FieldBehavior) bool {
	return slices.Contains(fieldBehaviours(f), want)
}

// behavioursOf collects the behaviours of msg's fields and of the messages
// they hold, each message once.
func behavioursOf(msg *protogen.Message) behaviours {
	var b behaviours
	seen := map[*protogen.Message]bool{}
	var walk func(m *protogen.Message)
	walk = func(m *protogen.Message) {
		if m == nil || seen[m] {
			return
		}
		seen[m] = true
		for _, f := range m.Fields {
			for _, fb := range fieldBehaviours(f) {
				switch fb {
				case annotations.FieldBehavior_REQUIRED:
					b.required = true
				case annotations.FieldBehavior_OUTPUT_ONLY:
					b.outputOnly = true
				case annotations.FieldBehavior_IMMUTABLE:
					b.immutable = true
				case annotations.FieldBehavior_IDENTIFIER:
					b.identifier = true
				}
			}
			if f.Desc.IsMap() {
				walk(f.Message.Fields[1].Message)
			} else {
				walk(f.Message)
			}
		}
	}
	walk(msg)
	return b
}

// validPatterns returns those of patterns resourcename can read.
func validPatterns(patterns []string) []string {
	var out []string
	for _, p := range patterns {
		if resourcename.ValidatePattern(p) == nil {
			out = append(out, p)
		}
	}
	return out
}

// checkablePatterns returns the patterns names are checked against: all of
// them when resourcename can read every one, else none (a name is never
// refused by a pattern the check misreads).
func checkablePatterns(patterns []string) []string {
	for _, p := range patterns {
		if resourcename.ValidatePattern(p) != nil {
			return nil
		}
	}
	return patterns
}

// requiresFields reports whether msg has a top-level REQUIRED field but
// those in checked, which the method checks anyway.
func requiresFields(msg *protogen.Message, checked ...*protogen.Field) bool {
	for _, f := range msg.Fields {
		if hasBehaviour(f, annotations.FieldBehavior_REQUIRED) && !slices.Contains(checked, f) {
			return true
		}
	}
	return false
}

// checkedFields are the request fields a method checks whatever their
// behaviour: the resource it carries, and a key checked against patterns.
func (s *standardMethod) checkedFields() []*protogen.Field {
	checked := []*protogen.Field{s.body}
	if s.input != nil {
		checked = append(checked, s.input.body)
	}
	if len(s.resource.patterns) > 0 {
		checked = append(checked, s.key)
	}
	return checked
}

// aipNotes says, for the doc comment, which AIP checks s makes.
func aipNotes(s *standardMethod, in *protogen.Message) []string {
	r := s.resource
	var notes []string
	if requiresFields(in, s.checkedFields()...) {
		notes = append(notes, fmt.Sprintf("a request that leaves a REQUIRED field of %s unset is InvalidArgument naming it", in.Desc.Name()))
	}
	b := r.behaviours
	switch s.shape.(type) {
	case listShape:
	case batchShape:
		if s.batch.names && len(r.patterns) > 0 {
			notes = append(notes, fmt.Sprintf("a %s of %s that is not of the form %s is InvalidArgument naming it", r.key.Desc.Name(), s.batch.elems.Desc.Name(), strings.Join(r.patterns, " or ")))
		}
	case createShape, batchCreateShape:
		if len(r.patterns) > 0 {
			notes = append(notes, fmt.Sprintf("a new %s that is not of the form %s is InvalidArgument, and never stored", r.key.Desc.Name(), strings.Join(r.patterns, " or ")))
		}
		if b.outputOnly || b.identifier {
			notes = append(notes, fmt.Sprintf("field behaviour (AIP-203): the %s's OUTPUT_ONLY fields (and an IDENTIFIER %s) sent are cleared", r.msg.Desc.Name(), r.key.Desc.Name()))
		}
		if b.required {
			notes = append(notes, fmt.Sprintf("field behaviour (AIP-203): a REQUIRED field of the %s left unset is InvalidArgument naming it (but %s, which the server assigns)", r.msg.Desc.Name(), r.key.Desc.Name()))
		}
	default:
		if len(r.patterns) > 0 {
			notes = append(notes, fmt.Sprintf("a %s that is not of the form %s is InvalidArgument", r.key.Desc.Name(), strings.Join(r.patterns, " or ")))
		}
	}
	if _, ok := s.shape.(updateShape); ok {
		if b.any() {
			notes = append(notes, fmt.Sprintf("field behaviour (AIP-203), against the stored %s: a REQUIRED field the update writes but leaves unset, or an IMMUTABLE field it changes, is InvalidArgument naming it; OUTPUT_ONLY fields keep their stored values", r.msg.Desc.Name()))
		}
	}
	return notes
}

// checkRequired writes the REQUIRED check of the request expression req.
func (w *methodWriter) checkRequired(msg *protogen.Message, req, results string) {
	if !requiresFields(msg, w.std.checkedFields()...) {
		return
	}
	w.P("if ", w.err, " := ", w.id(svcaipPackage, "CheckRequired"), "(", req, "); ", w.err, " != nil {")
	w.P("return ", results, w.err)
	w.P("}")
}

// checkName writes the pattern check of the name expression name, labelled
// field in errors.
func (w *methodWriter) checkName(field, name, results string) {
	r := w.std.resource
	if len(r.patterns) == 0 {
		return
	}
	args := []string{strconv.Quote(field), name}
	for _, p := range r.patterns {
		args = append(args, strconv.Quote(p))
	}
	w.P("if ", w.err, " := ", w.id(svcaipPackage, "CheckName"), "(", strings.Join(args, ", "), "); ", w.err, " != nil {")
	w.P("return ", results, w.err)
	w.P("}")
}

// readMaskOf returns msg's AIP-157 read_mask field, or nil.
func readMaskOf(msg *protogen.Message) *protogen.Field {
	if f := field(msg, "read_mask"); f != nil && isSingularMessage(f) && isMessage(f.Message, "google.protobuf.FieldMask") {
		return f
	}
	return nil
}

// viewOf returns msg's AIP-157 view field, or nil: a singular enum named
// view with a value FULL (or <ENUM>_FULL, FULL_<WHAT>), ALL, COMPLETE or
// BASIC.
func viewOf(msg *protogen.Message) *protogen.Field {
	f := field(msg, "view")
	if f == nil || f.Enum == nil || !isPlain(f, protoreflect.EnumKind) {
		return nil
	}
	for _, v := range f.Enum.Values {
		n := string(v.Desc.Name())
		for _, w := range []string{"FULL", "ALL", "COMPLETE", "BASIC"} {
			if n == w || strings.HasSuffix(n, "_"+w) || strings.HasPrefix(n, w+"_") {
				return f
			}
		}
	}
	return nil
}

// viewNote says how a view is served.
func viewNote(f *protogen.Field) string {
	return fmt.Sprintf("%s (AIP-157): FULL (or ALL, COMPLETE), or no view, answers the whole resource; BASIC answers its small fields only (svcaip.ApplyView: scalars, strings, enums, timestamps and durations, without repeated fields, maps, bytes and other messages); any other view is codes.Unimplemented (which fields it holds is the API's to say)", f.Desc.Name())
}

// checkView writes the check of the request's view.
func (w *methodWriter) checkView(results string) {
	if w.std.view == nil {
		return
	}
	w.P("if ", w.err, " := ", w.id(svcaipPackage, "CheckView"), "(", w.get(w.req, w.std.view), "); ", w.err, " != nil {")
	w.P("return ", results, w.err)
	w.P("}")
}

// checkReadMask writes the check of the request's read_mask against the
// resource's type.
func (w *methodWriter) checkReadMask(results string) {
	w.P("if ", w.err, " := ", w.id(svcaipPackage, "CheckReadMask"), "(", w.get(w.req, w.std.readMask), ", (*", w.std.resource.msg.GoIdent, ")(nil)); ", w.err, " != nil {")
	w.P("return ", results, w.err)
	w.P("}")
}

// respondValue writes the return of a unary method whose answer is the
// resource expr (no error): the resource, the response wrapping it, or an
// empty response; for a long-running method, an Operation that is done and
// not stored, holding it (svclro.Preview: only validate_only answers so).
func (w *methodWriter) respondValue(expr string) {
	out := w.std.out
	if out.ownOp != nil {
		// A preview (validate_only): the service's own Operation, done and
		// not stored.
		target := w.requestKey()
		if !out.empty && expr != "" {
			target = w.get(expr, w.std.resource.key)
		}
		w.respondOwnOperation("", target, false)
		return
	}
	if out.lro != nil {
		// A preview (validate_only): an Operation that is done, not stored.
		res := expr
		switch {
		case out.empty:
			res = w.a.newMessage(out.msg)
		case out.wrap != nil:
			res = w.a.newMessage(out.msg, out.wrap.GoName, expr)
		}
		w.P("return ", w.id(svclroPackage, "Preview"), "(", res, ", ", w.metadataOf(out.lro), ")")
		return
	}
	switch {
	case out.empty:
		w.P("return ", w.a.newMessage(out.msg), ", nil")
	case out.wrap != nil:
		w.P("return ", w.a.newMessage(out.msg, out.wrap.GoName, expr), ", nil")
	default:
		w.P("return ", expr, ", nil")
	}
}

// validateOnlyOf returns msg's AIP-163 validate_only field, or nil.
func validateOnlyOf(msg *protogen.Message) *protogen.Field {
	if f := field(msg, "validate_only"); f != nil && isPlain(f, protoreflect.BoolKind) {
		return f
	}
	return nil
}

// allowMissingOf returns msg's AIP-134/135 allow_missing field, or nil.
func allowMissingOf(msg *protogen.Message) *protogen.Field {
	if f := field(msg, "allow_missing"); f != nil && isPlain(f, protoreflect.BoolKind) {
		return f
	}
	return nil
}

// validateOnlyNote says what a validate_only request is answered.
func validateOnlyNote(f *protogen.Field, answer, nothing string) string {
	return fmt.Sprintf("%s (AIP-163): every check is made, and the answer is %s; %s", f.Desc.Name(), answer, nothing)
}

// needsPrepare reports whether the resource's Creates and Updates go
// through svcaip.PrepareCreate / PrepareUpdate.
func (w *methodWriter) needsPrepare() bool {
	return w.std.resource.behaviours.any()
}

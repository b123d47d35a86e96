// Package svcaip holds the checks the standard methods of generated
// skeletons make on their requests, as the AIPs describe them: field
// behaviour (AIP-203: REQUIRED, OUTPUT_ONLY, IMMUTABLE, IDENTIFIER, read
// from the descriptors with go.einride.tech/aip/fieldbehavior) and resource
// names (AIP-122: a name matches one of its resource's google.api.resource
// patterns, and a parent the parent of one of them, matched with
// go.einride.tech/aip/resourcename); request_id (AIP-155: [Replay] carries
// a request out once per id, with the records in a [Requests] repository);
// force (AIP-135: [DeleteChildren]).
//
// A skeleton imports it only for resources whose protos declare field
// behaviour or patterns. Every error is a gRPC status error with
// codes.InvalidArgument and a google.rpc.BadRequest detail naming the
// field by its path in the request ("book.title"), as AIP-193 asks; none
// says anything about the server.
package svcaip

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.einride.tech/aip/fieldbehavior"
	"go.einride.tech/aip/fieldmask"
	"go.einride.tech/aip/resourcename"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/svcgen/protoc-gen-svc/svcstore"
)

// maxShown bounds how much of a client's value an error message repeats.
const maxShown = 200

// violation is one field a request gets wrong.
type violation struct {
	field, description string
}

// invalid returns codes.InvalidArgument listing the violations, with a
// google.rpc.BadRequest detail holding each one.
func invalid(vs ...violation) error {
	var msg []string
	details := &errdetails.BadRequest{}
	for _, v := range vs {
		msg = append(msg, v.field+" "+v.description)
		details.FieldViolations = append(details.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.field, Description: v.description})
	}
	st := status.New(codes.InvalidArgument, strings.Join(msg, "; "))
	if withDetails, err := st.WithDetails(details); err == nil {
		st = withDetails
	}
	return st.Err()
}

// join is a field path: path and name joined by a dot, or name alone.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// shown is s as an error message repeats it: quoted, and cut short.
func shown(s string) string {
	if len(s) > maxShown {
		s = s[:maxShown] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// CheckName returns nil when name matches one of patterns, the
// google.api.resource patterns of its resource ("shelves/{shelf}/books/{book}":
// every variable one non-empty segment, every other segment as written), and
// codes.InvalidArgument naming field otherwise: a name of another
// collection, of no collection, or empty; a full resource name
// ("//service/..."), one starting with "/", and one with the wildcard
// segment "-" (AIP-159: it names no one resource). A skeleton checks every
// name a request carries before its repository sees it, so that only names
// of the resource's patterns are ever stored.
func CheckName(field, name string, patterns ...string) error {
	if name == "" {
		return invalid(violation{field, "is required"})
	}
	if !strings.HasPrefix(name, "/") && !slices.Contains(strings.Split(name, "/"), resourcename.Wildcard) {
		for _, p := range patterns {
			if resourcename.Match(p, name) {
				return nil
			}
		}
	}
	return invalid(violation{field, fmt.Sprintf("%s is not a resource name of the form %s", shown(name), strings.Join(patterns, " or "))})
}

// ChildKeyPrefix returns the key prefix of the children under parent of a
// resource with several patterns, each given as written
// ("projects/{project}/secrets/{secret}",
// "projects/{project}/locations/{location}/secrets/{secret}"): parent
// matches the part of one pattern before its last collection
// ("projects/{project}/locations/{location}", resourcename.Match), and
// the prefix is parent, that collection and a "/"
// ("projects/p/locations/l/secrets/"). A Create composes the new name
// from it and an id; a List keeps the keys that start with it, which are
// exactly that parent's children, whichever pattern it matched, since a
// key holds the parent's every segment.
//
// A parent of none of the patterns (another collection, too few or too
// many segments, an empty segment, a full resource name, one starting with
// "/") is codes.InvalidArgument naming field; a parent with the wildcard
// segment "-" (AIP-159: across parents) is codes.Unimplemented, since the
// children of several parents are not one key range.
func ChildKeyPrefix(field, parent string, patterns ...string) (string, error) {
	if !strings.HasPrefix(parent, "/") {
		if slices.Contains(strings.Split(parent, "/"), resourcename.Wildcard) {
			return "", status.Errorf(codes.Unimplemented, "%s %s: reading across parents with the wildcard %q (AIP-159) is not supported by this server", field, shown(parent), resourcename.Wildcard)
		}
		for _, p := range patterns {
			if parentPattern, collection, ok := splitChild(p); ok && resourcename.Match(parentPattern, parent) {
				return parent + "/" + collection + "/", nil
			}
		}
	}
	var forms []string
	for _, p := range patterns {
		if parentPattern, _, ok := splitChild(p); ok {
			forms = append(forms, parentPattern)
		}
	}
	return "", invalid(violation{field, fmt.Sprintf("%s is not a parent of the form %s", shown(parent), strings.Join(forms, " or "))})
}

// splitChild splits a child's pattern ("projects/{project}/secrets/{secret}")
// into its parent's pattern ("projects/{project}") and its collection
// ("secrets"); ok is false for a pattern without a parent.
func splitChild(pattern string) (parent, collection string, ok bool) {
	i := strings.LastIndexByte(pattern, '/')
	if i < 0 {
		return "", "", false
	}
	j := strings.LastIndexByte(pattern[:i], '/')
	if j <= 0 {
		return "", "", false
	}
	return pattern[:j], pattern[j+1 : i], true
}

// CheckRequired returns codes.InvalidArgument naming the top-level fields
// of req annotated (google.api.field_behavior) = REQUIRED that req leaves
// unset, or nil. The fields of a resource the request carries are checked
// by PrepareCreate and PrepareUpdate, which know which of them apply.
func CheckRequired(req proto.Message) error {
	m := req.ProtoReflect()
	var vs []violation
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fieldbehavior.Has(fd, annotations.FieldBehavior_REQUIRED) && !present(m, fd) {
			vs = append(vs, violation{string(fd.Name()), "is required"})
		}
	}
	if len(vs) > 0 {
		return invalid(vs...)
	}
	return nil
}

// PrepareCreate readies res, the resource a Create is about to store (a
// copy the caller may change; path is where it is in the request, such as
// "book", or "" when the request is the resource itself), as AIP-203 says:
// OUTPUT_ONLY fields, at any depth, are cleared, and so is an IDENTIFIER
// key in a resource held by the request (the server assigns the name, or
// composes it from the request's parent and id; a request that is the
// resource names it itself); then every REQUIRED field must be set, at any
// depth of the messages that are set, except key (the resource's key
// field), which the server assigns when it is empty.
func PrepareCreate(res proto.Message, path, key string) error {
	return prepareCreate(res, path, key, path != "")
}

// PrepareCreateNamed is PrepareCreate for a resource the request names
// itself, such as the one an Update with allow_missing creates (AIP-134):
// its IDENTIFIER key is kept.
func PrepareCreateNamed(res proto.Message, path, key string) error {
	return prepareCreate(res, path, key, false)
}

func prepareCreate(res proto.Message, path, key string, clearName bool) error {
	m := res.ProtoReflect()
	fieldbehavior.ClearFields(res, annotations.FieldBehavior_OUTPUT_ONLY)
	if fd := m.Descriptor().Fields().ByName(protoreflect.Name(key)); clearName && fd != nil && fieldbehavior.Has(fd, annotations.FieldBehavior_IDENTIFIER) {
		m.Clear(fd)
	}
	var vs []violation
	missingRequired(m, path, func(p string) bool { return p != join(path, key) }, &vs)
	if len(vs) > 0 {
		return invalid(vs...)
	}
	return nil
}

// PrepareUpdate checks and readies res, the resource an Update is about to
// write under mask (a copy the caller may change; path is where it is in
// the request), against cur, the resource as stored, as AIP-203 says:
//
//   - REQUIRED fields the update writes must be set: those mask names (or,
//     for "*", all of them; without a mask an update writes only the fields
//     res populates, so none can be missing);
//   - IMMUTABLE fields the update writes must keep their stored values;
//   - OUTPUT_ONLY fields are never written as sent: at every depth where
//     both res and cur have the message, res gets the stored value; fields
//     in messages cur does not have are cleared, and without a mask the
//     top-level ones are cleared, so the update leaves them alone.
//
// A concurrent write to an OUTPUT_ONLY field between reading cur and the
// update may be undone by a full replacement ("*"); an etag in res makes
// the update fail instead.
func PrepareUpdate(cur, res proto.Message, mask *fieldmaskpb.FieldMask, path string) error {
	m := res.ProtoReflect()
	paths := mask.GetPaths()
	full := len(paths) == 1 && paths[0] == "*"
	var vs []violation
	if len(paths) > 0 {
		missingRequired(m, path, func(p string) bool { return full || coveredBy(paths, strings.TrimPrefix(p, path+".")) }, &vs)
	}
	written := mask
	if len(paths) == 0 {
		// The implied mask (AIP-134): the fields res populates.
		written = &fieldmaskpb.FieldMask{}
		m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
			written.Paths = append(written.Paths, string(fd.Name()))
			return true
		})
	}
	// (An empty mask means everything to fieldbehavior: an update that
	// writes nothing changes nothing.)
	if cur != nil && len(written.GetPaths()) > 0 {
		if err := fieldbehavior.ValidateImmutableFieldsNotChanged(cur, res, written); err != nil {
			if field, ok := strings.CutPrefix(err.Error(), "immutable field cannot be changed: "); ok {
				if !slices.ContainsFunc(vs, func(v violation) bool { return v.field == join(path, field) }) {
					// (A REQUIRED field left unset is said once.)
					vs = append(vs, violation{join(path, field), "is immutable: an update may not change it"})
				}
			} else {
				vs = append(vs, violation{path, err.Error()})
			}
		}
	}
	if len(vs) > 0 {
		return invalid(vs...)
	}
	var stored protoreflect.Message
	if cur != nil {
		stored = cur.ProtoReflect()
	}
	keepOutputOnly(m, stored, len(paths) > 0)
	return nil
}

// keepOutputOnly gives the OUTPUT_ONLY fields of m the values they have in
// stored (nil: none), at every depth where both have the message; atTop
// says whether top-level ones are kept (a masked update) or cleared (an
// update of the populated fields).
func keepOutputOnly(m, stored protoreflect.Message, atTop bool) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch {
		case fieldbehavior.Has(fd, annotations.FieldBehavior_OUTPUT_ONLY):
			if atTop && stored != nil && stored.Has(fd) {
				m.Set(fd, stored.Get(fd))
			} else {
				m.Clear(fd)
			}
		case fd.Message() != nil && !fd.IsList() && !fd.IsMap() && m.Has(fd):
			if stored != nil && stored.Has(fd) {
				keepOutputOnly(m.Mutable(fd).Message(), stored.Get(fd).Message(), true)
			} else {
				fieldbehavior.ClearFields(m.Get(fd).Message().Interface(), annotations.FieldBehavior_OUTPUT_ONLY)
			}
		case fd.Message() != nil && m.Has(fd):
			// Elements of lists and maps have no stored counterpart to
			// keep: their output-only fields are cleared.
			v := m.Get(fd)
			switch {
			case fd.IsList():
				for j := range v.List().Len() {
					fieldbehavior.ClearFields(v.List().Get(j).Message().Interface(), annotations.FieldBehavior_OUTPUT_ONLY)
				}
			case fd.MapValue().Message() != nil:
				v.Map().Range(func(_ protoreflect.MapKey, e protoreflect.Value) bool {
					fieldbehavior.ClearFields(e.Message().Interface(), annotations.FieldBehavior_OUTPUT_ONLY)
					return true
				})
			}
		}
	}
}

// coveredBy reports whether an update under paths writes the field at p:
// a path names it or one of the messages holding it.
func coveredBy(paths []string, p string) bool {
	for _, q := range paths {
		if q == p || strings.HasPrefix(p, q+".") || strings.HasPrefix(p, q+"[") {
			return true
		}
	}
	return false
}

// missingRequired appends a violation for every REQUIRED field of m (path
// is m's own path) that is unset and that check accepts, looking into the
// set singular messages, and the elements of lists and maps of messages.
func missingRequired(m protoreflect.Message, path string, check func(path string) bool, vs *[]violation) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		p := join(path, string(fd.Name()))
		if !present(m, fd) {
			if fieldbehavior.Has(fd, annotations.FieldBehavior_REQUIRED) && check(p) {
				*vs = append(*vs, violation{p, "is required"})
			}
			continue
		}
		if fd.Message() == nil {
			continue
		}
		v := m.Get(fd)
		switch {
		case fd.IsList():
			for j := range v.List().Len() {
				missingRequired(v.List().Get(j).Message(), fmt.Sprintf("%s[%d]", p, j), check, vs)
			}
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				continue
			}
			v.Map().Range(func(k protoreflect.MapKey, e protoreflect.Value) bool {
				missingRequired(e.Message(), fmt.Sprintf("%s[%s]", p, shown(k.String())), check, vs)
				return true
			})
		default:
			missingRequired(v.Message(), p, check, vs)
		}
	}
}

// present reports whether m sets fd: a field with presence when it has a
// value (an optional int32 set to 0 is present), a list or map when it is
// not empty, a scalar without presence when it is not its zero value.
func present(m protoreflect.Message, fd protoreflect.FieldDescriptor) bool {
	return m.Has(fd)
}

// CheckReadMask returns codes.InvalidArgument naming read_mask when one of
// its paths names no field of m's type (m may be a typed nil, such as
// (*Book)(nil)), or when "*" is not its only path; an empty mask and "*"
// read everything (AIP-157).
func CheckReadMask(mask *fieldmaskpb.FieldMask, m proto.Message) error {
	if len(mask.GetPaths()) == 0 {
		return nil
	}
	if err := fieldmask.Validate(mask, m); err != nil {
		return invalid(violation{"read_mask", fmt.Sprintf("names no field of %s: %s", m.ProtoReflect().Descriptor().FullName(), err)})
	}
	return nil
}

// ReadMask returns res with only the fields mask names (AIP-157), or res
// itself when mask is empty or "*". A path into a message res does not
// have gives that message empty; paths into list and map elements are not
// supported and read nothing. Check the mask with CheckReadMask first.
func ReadMask[M proto.Message](mask *fieldmaskpb.FieldMask, res M) M {
	if len(mask.GetPaths()) == 0 || fieldmask.IsFullReplacement(mask) {
		return res
	}
	out, ok := res.ProtoReflect().New().Interface().(M)
	if !ok {
		return res
	}
	fieldmask.Update(mask, out, res)
	return out
}

// ReadMasks applies ReadMask to every resource of items, in place.
func ReadMasks[M proto.Message](mask *fieldmaskpb.FieldMask, items []M) {
	for i := range items {
		items[i] = ReadMask(mask, items[i])
	}
}

// The validate_only helpers (AIP-163): a request that sets it gets every
// check the method and its store would make, and an answer, and nothing is
// stored. get is the repository's Get.

// ValidateCreate makes the checks a store makes on a Create of a resource
// with key (empty: the store would assign one): codes.AlreadyExists when
// a resource has the key, as the store's Create would answer.
func ValidateCreate[M proto.Message](ctx context.Context, get func(context.Context, string) (M, error), key string) error {
	if key == "" {
		return nil
	}
	if len(key) > svcstore.MaxKeyBytes {
		return invalid(violation{"name", fmt.Sprintf("is %d bytes long; at most %d are allowed", len(key), svcstore.MaxKeyBytes)})
	}
	res, err := get(ctx, key)
	switch status.Code(err) {
	case codes.OK:
		return status.Errorf(codes.AlreadyExists, "%s %s already exists", res.ProtoReflect().Descriptor().FullName(), shown(key))
	case codes.NotFound:
		return nil
	}
	return err
}

// CheckEtag answers as a store does when a write names an etag (sent) that
// is not the stored one: codes.Aborted; an empty sent etag always passes.
func CheckEtag(res proto.Message, key, stored, sent string) error {
	if sent == "" || sent == stored {
		return nil
	}
	return status.Errorf(codes.Aborted, "%s %s: etag %s does not match current etag %s; re-read and retry",
		res.ProtoReflect().Descriptor().FullName(), shown(key), sent, stored)
}

// Preview returns what an Update of cur by res under mask would store
// (AIP-163's answer to validate_only), without the fields a store
// maintains (etag, update_time): the fields mask names copied from res
// (a path into a message res lacks clears it), or, for "*", res itself; without a
// mask, the top-level fields res populates. A path of no field is
// codes.InvalidArgument naming update_mask.
func Preview[M proto.Message](cur, res M, mask *fieldmaskpb.FieldMask) (M, error) {
	if err := fieldmask.Validate(mask, res); err != nil {
		return cur, invalid(violation{"update_mask", fmt.Sprintf("names no field of %s: %s", res.ProtoReflect().Descriptor().FullName(), err)})
	}
	if fieldmask.IsFullReplacement(mask) {
		return proto.CloneOf(res), nil
	}
	if len(mask.GetPaths()) == 0 {
		mask = &fieldmaskpb.FieldMask{}
		res.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
			mask.Paths = append(mask.Paths, string(fd.Name()))
			return true
		})
	}
	out := proto.CloneOf(cur)
	fieldmask.Update(mask, out, proto.CloneOf(res))
	return out, nil
}

// CheckView answers for a request's AIP-157 view: nil for the unspecified
// value and for the views a skeleton serves, codes.Unimplemented for any
// other (naming it), codes.InvalidArgument for a number the enum does not
// declare. Served are the full view, FULL, ALL or COMPLETE (alone, as
// <ENUM>_FULL or as FULL_<WHAT>), answered with the whole resource, and
// the basic view, BASIC in the same forms, answered by the rule ApplyView
// documents. Any
// other view (SUMMARY, MINIMAL, EFFECTIVE_VALUE...) holds what the API
// says, which a skeleton does not guess.
func CheckView(v protoreflect.Enum) error {
	n := v.Number()
	if n == 0 {
		return nil
	}
	ed := v.Descriptor()
	value := ed.Values().ByNumber(n)
	if value == nil {
		return invalid(violation{"view", fmt.Sprintf("%d is not a value of %s", n, ed.FullName())})
	}
	if viewKind(string(value.Name())) != "" {
		return nil
	}
	return status.Errorf(codes.Unimplemented, "view %s is not served by this server: only the full view (FULL, ALL, COMPLETE, or no view) and BASIC are; override the method to serve it", value.Name())
}

// viewKind is "full" or "basic" for the view values a skeleton serves
// (FULL, ALL, COMPLETE, BASIC: alone, after the enum's prefix, or before
// what the API's views show, as App Engine's FULL_CERTIFICATE), else "".
func viewKind(name string) string {
	for _, w := range []string{"FULL", "ALL", "COMPLETE", "BASIC"} {
		if name == w || strings.HasSuffix(name, "_"+w) || strings.HasPrefix(name, w+"_") {
			if w == "BASIC" {
				return "basic"
			}
			return "full"
		}
	}
	return ""
}

// ApplyView answers res as the view v shows it: res itself for the
// unspecified view and the full one; for BASIC, a copy holding only the
// resource's small fields, the rule AIP-157 gives BASIC ("omit large
// fields") made exact: singular scalars, strings and enums are kept, and so
// are google.protobuf.Timestamp, Duration and the wrapper types; repeated
// fields, maps, bytes and every other message are cleared. An API whose
// BASIC says otherwise overrides the method.
func ApplyView[M proto.Message](v protoreflect.Enum, res M) M {
	// The zero value is the unspecified view, unless it is the basic one
	// (App Engine's BASIC_CERTIFICATE).
	value := v.Descriptor().Values().ByNumber(v.Number())
	if value == nil || viewKind(string(value.Name())) != "basic" {
		return res
	}
	out := proto.CloneOf(res)
	m := out.ProtoReflect()
	var large []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		switch {
		case fd.IsList(), fd.IsMap(), fd.Kind() == protoreflect.BytesKind:
			large = append(large, fd)
		case fd.Message() != nil && !smallMessage(fd.Message().FullName()):
			large = append(large, fd)
		}
		return true
	})
	for _, fd := range large {
		m.Clear(fd)
	}
	return out
}

// ApplyViews applies ApplyView to every resource of items, in place.
func ApplyViews[M proto.Message](v protoreflect.Enum, items []M) {
	for i := range items {
		items[i] = ApplyView(v, items[i])
	}
}

// smallMessage reports whether a message field of this type is kept by
// the basic view: timestamps, durations and wrapped scalars.
func smallMessage(name protoreflect.FullName) bool {
	switch name {
	case "google.protobuf.Timestamp", "google.protobuf.Duration",
		"google.protobuf.BoolValue", "google.protobuf.Int32Value", "google.protobuf.Int64Value",
		"google.protobuf.UInt32Value", "google.protobuf.UInt64Value", "google.protobuf.FloatValue",
		"google.protobuf.DoubleValue", "google.protobuf.StringValue":
		return true
	}
	return false
}

// CollectionKeyPrefix returns the key prefix of the children in collection
// under parent, for a resource that declares no pattern: parent/collection/.
// The parent must be a resource name as AIP-122 shapes them, pairs of
// non-empty collection and id segments ("apps/a/services/s"); any other
// (empty, an odd number of segments, an empty segment, a full resource name,
// one starting with "/") is codes.InvalidArgument naming field, and one
// with the wildcard segment "-" (AIP-159) codes.Unimplemented.
func CollectionKeyPrefix(field, parent, collection string) (string, error) {
	segs := strings.Split(parent, "/")
	if slices.Contains(segs, resourcename.Wildcard) {
		return "", status.Errorf(codes.Unimplemented, "%s %s: reading across parents with the wildcard %q (AIP-159) is not supported by this server", field, shown(parent), resourcename.Wildcard)
	}
	if len(segs)%2 != 0 || slices.Contains(segs, "") {
		return "", invalid(violation{field, fmt.Sprintf("%s is not a resource name (collection/id pairs, as AIP-122 has them)", shown(parent))})
	}
	return parent + "/" + collection + "/", nil
}

// NameUnder is the name a Create composes under prefix ("projects/p/
// models/m/versions/") from the resource's own name as the client sent it,
// for a resource without patterns whose request has no id field: empty
// gets a server-assigned id (svcstore.NewID), one segment ("v1", as ML
// Engine's Version.name and GKE's Cluster.name are sent) is the id, and a
// full name under prefix is kept as sent (Source Repositories' names may
// hold slashes: "projects/p/repos/team/app"). Anything else, or a name with
// an empty segment, is codes.InvalidArgument naming field.
func NameUnder(field, prefix, name string) (string, error) {
	if name == "" {
		return prefix + svcstore.NewID(), nil
	}
	under := strings.TrimSuffix(prefix, "/")
	if rest, ok := strings.CutPrefix(name, prefix); ok {
		if rest == "" || slices.Contains(strings.Split(rest, "/"), "") {
			return "", invalid(violation{field, fmt.Sprintf("%s names no resource under %s", shown(name), shown(under))})
		}
		return name, nil
	}
	if strings.Contains(name, "/") {
		return "", invalid(violation{field, fmt.Sprintf("%s is neither an id (one segment of a resource name) nor a name under %s", shown(name), shown(under))})
	}
	return prefix + name, nil
}

// MissingAs returns a function passing a Delete's answer through, but for
// a NotFound error when allow is set (AIP-135's allow_missing, on a Delete
// that answers the deleted resource): then it answers missing (the
// resource holding only its name) and no error.
func MissingAs[M any](allow bool, missing M) func(M, error) (M, error) {
	return func(m M, err error) (M, error) {
		if allow && status.Code(err) == codes.NotFound {
			return missing, nil
		}
		return m, err
	}
}

// OperationName is the name of a new operation, of an API's own Operation
// type (GKE's), about the resource named target: beside it, under its
// parent ("projects/p/locations/l/operations/<id>" for the cluster
// "projects/p/locations/l/clusters/c"), with a server-assigned id
// (svcstore.NewID).
func OperationName(target string) string {
	parts := strings.Split(target, "/")
	if len(parts) < 3 {
		return "operations/" + svcstore.NewID()
	}
	return strings.Join(parts[:len(parts)-2], "/") + "/operations/" + svcstore.NewID()
}

// CheckID refuses, as codes.InvalidArgument naming field, a client-chosen
// id that would not be one segment of the name composed from it: one
// holding a "/". An empty id is the server's to assign.
func CheckID(field, id string) error {
	if strings.Contains(id, "/") {
		return invalid(violation{field, fmt.Sprintf("%s holds a \"/\": an id is one segment of a resource name", shown(id))})
	}
	return nil
}

package gen

import (
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// A parent for a resource without patterns. Older Google APIs (App Engine,
// AI Platform's ml.v1, IAP) key resources by a resource name ("apps/a/
// services/s/versions/v") without declaring google.api.resource, and their
// Lists and Creates take a parent. AIP-122 names are parent/collection/id,
// so the skeleton takes the collection from the method, never from the
// message (a message may be listed by several methods): a Create's noun
// made plural ("CreateVersion" → "versions"), and a List's repeated field
// ("versions"), or the collection the service's Create writes. The guess
// is said in the doc comment and as a warning, and declaring
// google.api.resource replaces it.
//
// Which request field holds a parent, for a resource with or without
// patterns: parent, or the names older APIs gave it (parentField).

// guessesCollection reports whether r is a resource whose names a parent
// may scope although it declares no pattern: keyed by a string name, with
// no google.api.resource and no svc key prefix.
func guessesCollection(r *resourceModel) bool {
	if r.hasParent() || r.keyPrefix != "" || r.key.Desc.Name() != "name" || r.key.Desc.Kind() != protoreflect.StringKind {
		return false
	}
	api, _ := extension[*annotations.ResourceDescriptor](r.msg.Desc.Options(), annotations.E_Resource)
	return api == nil
}

// listCollection is the collection a List of r under a parent reads, or
// "", and what it was taken from: the collection the service's Create of r
// writes, when it has one, so that the List reads where the Create writes
// (App Engine's ListAuthorizedCertificates answers certificates, and
// CreateAuthorizedCertificate writes authorizedCertificates); else the
// List's repeated field (OS Config's ListPatchJobInstanceDetails answers
// instance_details: instanceDetails).
func (c *methodContext) listCollection(r *resourceModel, items *protogen.Field, response *protogen.Message) (collection, from string) {
	if items == nil || !guessesCollection(r) {
		return "", ""
	}
	for _, m := range c.svc.Methods {
		if verb, noun, _ := splitVerb(string(m.Desc.Name())); verb == "Create" && noun != "" && r.named(noun) {
			return createCollection(r, noun), fmt.Sprintf("the noun of %s, so that the List reads where it writes", m.Desc.Name())
		}
	}
	return lowerCamel(string(items.Desc.Name())), fmt.Sprintf("%s.%s", response.Desc.Name(), items.Desc.Name())
}

// createCollection is the collection a Create of r named noun puts new
// resources in, or "".
func createCollection(r *resourceModel, noun string) string {
	if noun == "" || !guessesCollection(r) {
		return ""
	}
	return lowerCamel(snake(plural(noun)))
}

// collectionNote is the doc comment's (and the warning's) account of the
// guess.
func collectionNote(r *resourceModel, parent *protogen.Field, collection, from string) string {
	return fmt.Sprintf("%s declares no google.api.resource pattern, so names under %s are taken to be %s/%s/<id> (AIP-122), the collection %q a guess from %s; declare google.api.resource to say otherwise",
		r.msg.Desc.Name(), parent.Desc.Name(), parent.Desc.Name(), collection, collection, from)
}

// plural makes an English noun plural, as collection identifiers are
// (Version → Versions, Policy → Policies, Address → Addresses).
func plural(noun string) string {
	switch {
	case strings.HasSuffix(noun, "s"), strings.HasSuffix(noun, "x"), strings.HasSuffix(noun, "ch"), strings.HasSuffix(noun, "sh"):
		return noun + "es"
	case strings.HasSuffix(noun, "y") && len(noun) > 1 && !strings.ContainsRune("aeiou", rune(noun[len(noun)-2])):
		return noun[:len(noun)-1] + "ies"
	}
	return noun + "s"
}

// lowerCamel turns a proto field name (authorized_certificates) into a
// collection identifier (authorizedCertificates).
func lowerCamel(name string) string {
	var b strings.Builder
	up := false
	for _, c := range name {
		switch {
		case c == '_':
			up = true
		case up && c >= 'a' && c <= 'z':
			b.WriteRune(c - 'a' + 'A')
			up = false
		default:
			b.WriteRune(c)
			up = false
		}
	}
	return b.String()
}

// parentField returns the field of a List or Create request msg that holds
// the parent of r's new or listed resources: parent, or a field named after
// the parent (parentNamedAfterIt), or, where an API from
// before AIP-132/133 named it name (Monitoring v3's
// ListAlertPoliciesRequest.name, "projects/p"; google.cloud.location's
// ListLocationsRequest.name), a string name that a
// google.api.resource_reference marks as a parent of r (child_type r's
// type, or a type other than r's) or, in a List, where no name of r's own
// can be meant. Or nil.
func parentField(msg *protogen.Message, r *resourceModel, list bool) *protogen.Field {
	if p := field(msg, "parent"); p != nil {
		if isPlain(p, protoreflect.StringKind) {
			return p
		}
		return nil
	}
	if p := parentNamedAfterIt(msg, r); p != nil {
		return p
	}
	n := field(msg, "name")
	if n == nil || !isPlain(n, protoreflect.StringKind) {
		return nil
	}
	ref, _ := extension[*annotations.ResourceReference](n.Desc.Options(), annotations.E_ResourceReference)
	switch {
	case ref.GetChildType() != "":
		if r.apiType != "" && ref.GetChildType() != r.apiType {
			return nil
		}
		return n
	case ref.GetType() != "":
		if ref.GetType() == r.apiType {
			return nil
		}
		return n
	case list:
		return n
	}
	return nil
}

// parentNamedNote says, when the parent field is not named parent, why it
// holds the parent; "" otherwise.
func parentNamedNote(msg *protogen.Message, p *protogen.Field) string {
	switch {
	case p == nil || p.Desc.Name() == "parent":
		return ""
	case p.Desc.Name() == "name":
		return fmt.Sprintf("%s.name holds the parent, as APIs from before AIP-132/133 named it", msg.Desc.Name())
	}
	return fmt.Sprintf("%s.%s holds the parent, named after it in the resource's patterns (a resource name, by its google.api.resource_reference)", msg.Desc.Name(), p.Desc.Name())
}

// parentNamedAfterIt returns the string field of msg named after the
// parent in r's patterns, the variable of the parent's last segment, when a
// google.api.resource_reference says it holds a resource name: Pub/Sub's
// ListSubscriptionsRequest.project ("projects/p", for
// "projects/{project}/subscriptions/{subscription}"), Spanner's
// CreateSessionRequest.database. Without the reference such a field may
// hold the variable's value rather than the name (Storage Transfer's
// CreateAgentPoolRequest.project_id), so it is not taken. Or nil.
func parentNamedAfterIt(msg *protogen.Message, r *resourceModel) *protogen.Field {
	name := ""
	for _, p := range r.patterns {
		segs := strings.Split(p, "/")
		if len(segs) < 4 {
			continue
		}
		v := segs[len(segs)-3]
		if !strings.HasPrefix(v, "{") {
			continue
		}
		if v = strings.Trim(v, "{}"); name != "" && v != name {
			return nil // parents of different names: which field?
		}
		name = v
	}
	f := field(msg, name)
	if name == "" || f == nil || !isPlain(f, protoreflect.StringKind) {
		return nil
	}
	if ref, _ := extension[*annotations.ResourceReference](f.Desc.Options(), annotations.E_ResourceReference); ref.GetType() == "" && ref.GetChildType() == "" {
		return nil
	}
	return f
}

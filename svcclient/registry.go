package svcclient

import "sync"

// registry holds the registered policy rows by full method name.
var registry struct {
	sync.RWMutex
	rows map[string]MethodPolicy
}

// RegisterPolicies records a service's policy table, so that code that
// knows only a method's full name — a server interceptor — can find what
// the schema says about it: svcprod.WithAuth reads [MethodPolicy.Auth] from
// here instead of a list of public methods kept by hand. Generated code
// registers the table of every service from an init function, as the
// generated .pb.go registers its descriptors; call it yourself for a table
// built by hand.
//
// A method registered twice keeps its first row, except that it requires
// credentials if either row does: two tables that disagree (two builds of
// one schema linked into one program) never open a method.
func RegisterPolicies(table []MethodPolicy) {
	registry.Lock()
	defer registry.Unlock()
	if registry.rows == nil {
		registry.rows = map[string]MethodPolicy{}
	}
	for _, row := range ClonePolicies(table) {
		first, ok := registry.rows[row.FullMethod]
		if !ok {
			registry.rows[row.FullMethod] = row
			continue
		}
		if row.Auth != first.Auth {
			first.Auth = AuthRequired
			registry.rows[row.FullMethod] = first
		}
	}
}

// RegisteredPolicy returns the row registered for fullMethod
// ("/package.Service/Method") with [RegisterPolicies], and whether there is
// one. The row is a copy.
func RegisteredPolicy(fullMethod string) (MethodPolicy, bool) {
	registry.RLock()
	row, ok := registry.rows[fullMethod]
	registry.RUnlock()
	if !ok {
		return MethodPolicy{}, false
	}
	return ClonePolicies([]MethodPolicy{row})[0], true
}

package core

import (
	"fmt"
	"math"
	"strings"
	"time"

	"go.einride.tech/aip/filtering"
	expr "google.golang.org/genproto/googleapis/api/expr/v1alpha1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxDeclDepth bounds how deep declarations follow message fields. Real
// resources rarely filter deeper than three levels, and recursive messages
// (google.protobuf.Struct, trees) would otherwise never end.
const maxDeclDepth = 4

// filterDecls are the AIP-160 declarations of one message type: every
// field reachable through singular messages, by dotted path.
type filterDecls struct {
	decls *filtering.Declarations
	paths map[string]FieldPath // dotted path -> fields
	err   error
}

// declarations builds (once) the declarations einride's checker needs.
func (l *Layout) declarations() *filterDecls {
	l.declsOnce.Do(func() { l.decls = buildDecls(l.MsgType.Descriptor()) })
	return l.decls
}

func buildDecls(md protoreflect.MessageDescriptor) *filterDecls {
	d := &filterDecls{paths: map[string]FieldPath{}}
	opts := []filtering.DeclarationOption{filtering.DeclareStandardFunctions()}
	extra := map[string][]*expr.Decl_FunctionDecl_Overload{}
	overload := func(fn string, params ...*expr.Type) {
		id := fn
		for _, p := range params {
			id += "_" + typeID(p)
		}
		for _, o := range extra[fn] {
			if o.OverloadId == id {
				return
			}
		}
		extra[fn] = append(extra[fn], filtering.NewFunctionOverload(id, filtering.TypeBool, params...))
	}
	comparisons := []string{filtering.FunctionEquals, filtering.FunctionNotEquals, filtering.FunctionLessThan,
		filtering.FunctionLessEquals, filtering.FunctionGreaterThan, filtering.FunctionGreaterEquals}
	// What einride's standard overloads lack: an integer field against a
	// float literal, durations written as strings (as timestamps may be),
	// and the has operator on lists and maps of other element types.
	for _, fn := range comparisons {
		overload(fn, filtering.TypeInt, filtering.TypeFloat)
		overload(fn, filtering.TypeDuration, filtering.TypeString)
	}
	for _, t := range []*expr.Type{filtering.TypeInt, filtering.TypeFloat, filtering.TypeBool} {
		overload(filtering.FunctionHas, filtering.TypeList(t), filtering.TypeString)
		overload(filtering.FunctionHas, filtering.TypeList(t), t)
		overload(filtering.FunctionHas, filtering.TypeMap(filtering.TypeString, t), filtering.TypeString)
	}
	overload(filtering.FunctionHas, filtering.TypeBool, filtering.TypeString)       // "b:*"
	overload(filtering.FunctionEquals, filtering.TypeBool, filtering.TypeString)    // "b = true"
	overload(filtering.FunctionNotEquals, filtering.TypeBool, filtering.TypeString) // "b != false"
	overload(filtering.FunctionHas, filtering.TypeInt, filtering.TypeString)
	overload(filtering.FunctionHas, filtering.TypeFloat, filtering.TypeString)
	overload(filtering.FunctionHas, filtering.TypeDuration, filtering.TypeString)

	var visit func(md protoreflect.MessageDescriptor, prefix string, path FieldPath, depth int, seen map[protoreflect.FullName]bool)
	visit = func(md protoreflect.MessageDescriptor, prefix string, path FieldPath, depth int, seen map[protoreflect.FullName]bool) {
		fields := md.Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			name := prefix + string(fd.Name())
			p := append(append(FieldPath(nil), path...), fd)
			t, ok := fieldType(fd)
			if !ok {
				if fd.Message() != nil && !fd.IsList() && !fd.IsMap() && depth < maxDeclDepth && !seen[fd.Message().FullName()] {
					seen[fd.Message().FullName()] = true
					visit(fd.Message(), name+".", p, depth+1, seen)
					delete(seen, fd.Message().FullName())
				}
				continue
			}
			d.paths[name] = p
			opts = append(opts, filtering.DeclareIdent(name, t))
			elem := fd
			if fd.IsMap() {
				elem = fd.MapValue()
			}
			if elem.Enum() != nil {
				et := enumType(elem.Enum())
				for _, fn := range []string{filtering.FunctionEquals, filtering.FunctionNotEquals} {
					overload(fn, filtering.TypeEnum(et), filtering.TypeEnum(et))
					overload(fn, filtering.TypeEnum(et), filtering.TypeString)
				}
				overload(filtering.FunctionHas, filtering.TypeEnum(et), filtering.TypeString)
				if fd.IsList() {
					overload(filtering.FunctionHas, filtering.TypeList(filtering.TypeEnum(et)), filtering.TypeString)
					overload(filtering.FunctionHas, filtering.TypeList(filtering.TypeEnum(et)), filtering.TypeEnum(et))
				}
			}
		}
	}
	visit(md, "", nil, 0, map[protoreflect.FullName]bool{md.FullName(): true})
	for fn, ovs := range extra {
		opts = append(opts, filtering.DeclareFunction(fn, ovs...))
	}
	d.decls, d.err = filtering.NewDeclarations(opts...)
	return d
}

func typeID(t *expr.Type) string {
	switch k := t.TypeKind.(type) {
	case *expr.Type_Primitive:
		return strings.ToLower(k.Primitive.String())
	case *expr.Type_WellKnown:
		return strings.ToLower(k.WellKnown.String())
	case *expr.Type_ListType_:
		return "list_" + typeID(k.ListType.ElemType)
	case *expr.Type_MapType_:
		return "map_" + typeID(k.MapType.KeyType) + "_" + typeID(k.MapType.ValueType)
	case *expr.Type_MessageType:
		return k.MessageType
	}
	return "unknown"
}

// fieldType is the checker's type of a field that can be filtered
// directly; messages other than Timestamp and Duration are not (their
// fields are).
func fieldType(fd protoreflect.FieldDescriptor) (*expr.Type, bool) {
	if fd.IsMap() {
		if fd.MapKey().Kind() != protoreflect.StringKind {
			return nil, false
		}
		vt, ok := scalarType(fd.MapValue())
		if !ok {
			return nil, false
		}
		return filtering.TypeMap(filtering.TypeString, vt), true
	}
	t, ok := scalarType(fd)
	if !ok {
		return nil, false
	}
	if fd.IsList() {
		if fd.Message() != nil {
			return nil, false
		}
		return filtering.TypeList(t), true
	}
	return t, true
}

func scalarType(fd protoreflect.FieldDescriptor) (*expr.Type, bool) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return filtering.TypeString, true
	case protoreflect.BoolKind:
		return filtering.TypeBool, true
	case protoreflect.EnumKind:
		return filtering.TypeEnum(enumType(fd.Enum())), true
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return filtering.TypeFloat, true
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return filtering.TypeInt, true
	case protoreflect.MessageKind:
		switch fd.Message().FullName() {
		case timestampFullName:
			return filtering.TypeTimestamp, true
		case durationFullName:
			return filtering.TypeDuration, true
		}
	}
	return nil, false
}

// enumType gives einride an EnumType for a descriptor; only its
// descriptor's full name is read.
func enumType(ed protoreflect.EnumDescriptor) protoreflect.EnumType { return descEnumType{ed} }

type descEnumType struct{ ed protoreflect.EnumDescriptor }

func (t descEnumType) New(n protoreflect.EnumNumber) protoreflect.Enum { return descEnum{t, n} }
func (t descEnumType) Descriptor() protoreflect.EnumDescriptor         { return t.ed }

type descEnum struct {
	t descEnumType
	n protoreflect.EnumNumber
}

func (e descEnum) Descriptor() protoreflect.EnumDescriptor { return e.t.ed }
func (e descEnum) Type() protoreflect.EnumType             { return e.t }
func (e descEnum) Number() protoreflect.EnumNumber         { return e.n }

// filterError is an InvalidArgument-ready description of a bad filter,
// with its 1-based column.
type filterError struct {
	col int
	msg string
}

func (e *filterError) Error() string { return fmt.Sprintf("column %d: %s", e.col, e.msg) }

// parseFilter parses, checks and converts one AIP-160 expression.
func (l *Layout) parseFilter(text string) (*Cond, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	d := l.declarations()
	if d.err != nil {
		return nil, fmt.Errorf("declarations of %s: %v", l.TypeName, d.err)
	}
	var p filtering.Parser
	p.Init(text)
	parsed, err := p.Parse()
	if err != nil {
		return nil, err // einride's errors carry line:column
	}
	pos := func(e *expr.Expr) int { return int(parsed.GetSourceInfo().GetPositions()[e.GetId()]) + 1 }
	// Bare words on the right of a comparison are values (AIP-160: an
	// enum value, true, or unquoted text); give them to the checker as
	// strings. Then name unknown fields ourselves, with their position:
	// the checker's message has none.
	literalWords(parsed.GetExpr(), d)
	if err := checkIdents(parsed.GetExpr(), d, l, pos); err != nil {
		return nil, err
	}
	var c filtering.Checker
	c.Init(parsed.GetExpr(), parsed.GetSourceInfo(), d.decls)
	checked, err := c.Check()
	if err != nil {
		return nil, err
	}
	conv := converter{l: l, d: d, pos: pos, types: checked.GetTypeMap()}
	return conv.cond(checked.GetExpr())
}

// literalWords rewrites the right side of each comparison that is a bare
// word naming no field into a string constant.
func literalWords(e *expr.Expr, d *filterDecls) {
	call := e.GetCallExpr()
	if call == nil {
		return
	}
	switch call.GetFunction() {
	case filtering.FunctionAnd, filtering.FunctionOr, filtering.FunctionFuzzyAnd, filtering.FunctionNot:
		for _, a := range call.GetArgs() {
			literalWords(a, d)
		}
		return
	}
	if len(call.GetArgs()) != 2 {
		return
	}
	rhs := call.GetArgs()[1]
	name, ok := qualifiedName(rhs)
	if !ok {
		return
	}
	if _, isField := d.paths[name]; isField {
		return
	}
	rhs.ExprKind = &expr.Expr_ConstExpr{ConstExpr: filtering.NewStringConstant(name)}
}

func checkIdents(e *expr.Expr, d *filterDecls, l *Layout, pos func(*expr.Expr) int) error {
	switch k := e.ExprKind.(type) {
	case *expr.Expr_CallExpr:
		for _, a := range k.CallExpr.GetArgs() {
			if err := checkIdents(a, d, l, pos); err != nil {
				return err
			}
		}
	case *expr.Expr_IdentExpr, *expr.Expr_SelectExpr:
		name, ok := qualifiedName(e)
		if !ok {
			return &filterError{pos(e), "unsupported expression"}
		}
		if _, ok := d.decls.LookupIdent(name); ok {
			return nil
		}
		// A map value: "labels.env".
		if s := e.GetSelectExpr(); s != nil {
			if op, ok := qualifiedName(s.GetOperand()); ok && d.paths[op] != nil && d.paths[op][len(d.paths[op])-1].IsMap() {
				return nil
			}
		}
		return &filterError{pos(e), fmt.Sprintf("%q is not a field of %s that can be filtered", name, l.TypeName)}
	}
	return nil
}

func qualifiedName(e *expr.Expr) (string, bool) {
	switch k := e.ExprKind.(type) {
	case *expr.Expr_IdentExpr:
		return k.IdentExpr.GetName(), true
	case *expr.Expr_SelectExpr:
		op, ok := qualifiedName(k.SelectExpr.GetOperand())
		return op + "." + k.SelectExpr.GetField(), ok
	}
	return "", false
}

type converter struct {
	l     *Layout
	d     *filterDecls
	pos   func(*expr.Expr) int
	types map[int64]*expr.Type
}

func (c *converter) fail(e *expr.Expr, format string, args ...any) error {
	return &filterError{c.pos(e), fmt.Sprintf(format, args...)}
}

func (c *converter) cond(e *expr.Expr) (*Cond, error) {
	call := e.GetCallExpr()
	if call == nil {
		return nil, c.fail(e, "a filter term must be a comparison such as f = v, not a bare value")
	}
	args := call.GetArgs()
	switch call.GetFunction() {
	case filtering.FunctionAnd, filtering.FunctionFuzzyAnd, filtering.FunctionOr:
		op := CondAnd
		if call.GetFunction() == filtering.FunctionOr {
			op = CondOr
		}
		out := &Cond{Op: op}
		for _, a := range args {
			sub, err := c.cond(a)
			if err != nil {
				return nil, err
			}
			if sub.Op == op {
				out.Args = append(out.Args, sub.Args...)
			} else {
				out.Args = append(out.Args, sub)
			}
		}
		return out, nil
	case filtering.FunctionNot:
		sub, err := c.cond(args[0])
		if err != nil {
			return nil, err
		}
		return &Cond{Op: CondNot, Args: []*Cond{sub}}, nil
	case filtering.FunctionHas:
		return c.has(e, args[0], args[1])
	}
	cmp, ok := map[string]CmpOp{"=": CmpEq, "!=": CmpNe, "<": CmpLt, "<=": CmpLe, ">": CmpGt, ">=": CmpGe}[call.GetFunction()]
	if !ok {
		return nil, c.fail(e, "unsupported function %q", call.GetFunction())
	}
	ref, err := c.field(args[0])
	if err != nil {
		return nil, err
	}
	leaf := ref.Leaf()
	if ref.InMap {
		leaf = leaf.MapValue()
	}
	v, err := c.value(args[1], leaf)
	if err != nil {
		return nil, err
	}
	out := &Cond{Op: CondCompare, Field: ref, Cmp: cmp, Value: v}
	if s, ok := v.(string); ok && leaf.Kind() == protoreflect.StringKind && (strings.HasPrefix(s, "*") || strings.HasSuffix(s, "*")) {
		if cmp != CmpEq && cmp != CmpNe {
			return nil, c.fail(args[1], "a wildcard value needs = or !=, not %s", cmp)
		}
		out.Wildcard = true
	}
	if (leaf.Kind() == protoreflect.BoolKind || leaf.Enum() != nil) && cmp != CmpEq && cmp != CmpNe {
		return nil, c.fail(e, "field %q can only be compared with = or !=", ref.Name)
	}
	return out, nil
}

// has converts "f:v": presence with "*", element membership for repeated
// fields, key presence for maps, and equality for singular fields.
func (c *converter) has(e, fe, ve *expr.Expr) (*Cond, error) {
	ref, err := c.field(fe)
	if err != nil {
		return nil, err
	}
	leaf := ref.Leaf()
	if k := ve.GetConstExpr(); k != nil && k.GetStringValue() == "*" && !ref.InMap {
		return &Cond{Op: CondPresent, Field: ref}, nil
	}
	switch {
	case ref.InMap:
		v, err := c.value(ve, leaf.MapValue())
		if err != nil {
			return nil, err
		}
		return &Cond{Op: CondCompare, Field: ref, Cmp: CmpEq, Value: v}, nil
	case leaf.IsMap():
		k := ve.GetConstExpr()
		if k == nil {
			return nil, c.fail(ve, "a map key must be a literal")
		}
		return &Cond{Op: CondContains, Field: ref, Value: constText(k)}, nil
	}
	v, err := c.value(ve, leaf)
	if err != nil {
		return nil, err
	}
	op := CondCompare
	if leaf.IsList() {
		op = CondContains
	}
	out := &Cond{Op: op, Field: ref, Cmp: CmpEq, Value: v}
	if s, ok := v.(string); ok && leaf.Kind() == protoreflect.StringKind && (strings.HasPrefix(s, "*") || strings.HasSuffix(s, "*")) {
		out.Wildcard = true
	}
	return out, nil
}

// enumPrefix is the UPPER_SNAKE_CASE name of an enum with a trailing
// underscore: "PRODUCT_CATEGORY_" for ProductCategory.
func enumPrefix(ed protoreflect.EnumDescriptor) string {
	var b strings.Builder
	name := string(ed.Name())
	for i, r := range name {
		if i > 0 && r >= 'A' && r <= 'Z' && name[i-1] >= 'a' && name[i-1] <= 'z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String()) + "_"
}

func constText(k *expr.Constant) string {
	switch v := k.ConstantKind.(type) {
	case *expr.Constant_StringValue:
		return v.StringValue
	case *expr.Constant_Int64Value:
		return fmt.Sprint(v.Int64Value)
	case *expr.Constant_DoubleValue:
		return fmt.Sprint(v.DoubleValue)
	case *expr.Constant_BoolValue:
		return fmt.Sprint(v.BoolValue)
	}
	return ""
}

func (c *converter) field(e *expr.Expr) (*FieldRef, error) {
	name, ok := qualifiedName(e)
	if !ok {
		return nil, c.fail(e, "the left side of a comparison must be a field")
	}
	if p, ok := c.d.paths[name]; ok {
		return &FieldRef{Name: name, Path: p}, nil
	}
	if s := e.GetSelectExpr(); s != nil {
		op, _ := qualifiedName(s.GetOperand())
		if p, ok := c.d.paths[op]; ok && p[len(p)-1].IsMap() {
			return &FieldRef{Name: name, Path: p, InMap: true, MapKey: s.GetField()}, nil
		}
	}
	if _, ok := c.d.decls.LookupIdent(name); ok {
		return nil, c.fail(e, "%q is a value, not a field: write the field on the left", name)
	}
	return nil, c.fail(e, "%q is not a field of %s", name, c.l.TypeName)
}

// value converts the right side of a comparison to fd's normalised type.
func (c *converter) value(e *expr.Expr, fd protoreflect.FieldDescriptor) (any, error) {
	var k *expr.Constant
	switch x := e.ExprKind.(type) {
	case *expr.Expr_ConstExpr:
		k = x.ConstExpr
	case *expr.Expr_IdentExpr:
		// An enum value written bare (state = ACTIVE).
		k = &expr.Constant{ConstantKind: &expr.Constant_StringValue{StringValue: x.IdentExpr.GetName()}}
	case *expr.Expr_CallExpr:
		// timestamp("...") or duration("...").
		if fn := x.CallExpr.GetFunction(); (fn == filtering.FunctionTimestamp || fn == filtering.FunctionDuration) && len(x.CallExpr.GetArgs()) == 1 {
			if ck := x.CallExpr.GetArgs()[0].GetConstExpr(); ck != nil {
				k = ck
				break
			}
		}
		return nil, c.fail(e, "the right side of a comparison must be a literal")
	default:
		return nil, c.fail(e, "the right side of a comparison must be a literal")
	}
	text := constText(k)
	bad := func(want string) (any, error) {
		return nil, c.fail(e, "field %s is %s: %q is not %s", fd.FullName(), DescribeField(fd), text, want)
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		return text, nil
	case protoreflect.BoolKind:
		if b, ok := k.ConstantKind.(*expr.Constant_BoolValue); ok {
			return b.BoolValue, nil
		}
		switch text {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return bad("true or false")
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByName(protoreflect.Name(text)); ev != nil {
			return int64(ev.Number()), nil
		}
		// Values written without the enum's prefix, as buf's style guide
		// names them: BOOKS for PRODUCT_CATEGORY_BOOKS.
		if ev := fd.Enum().Values().ByName(protoreflect.Name(enumPrefix(fd.Enum()) + text)); ev != nil {
			return int64(ev.Number()), nil
		}
		return bad("a value of " + string(fd.Enum().FullName()))
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		switch n := k.ConstantKind.(type) {
		case *expr.Constant_DoubleValue:
			return n.DoubleValue, nil
		case *expr.Constant_Int64Value:
			return float64(n.Int64Value), nil
		}
		return bad("a number")
	case protoreflect.MessageKind:
		switch fd.Message().FullName() {
		case timestampFullName:
			t, err := time.Parse(time.RFC3339Nano, text)
			if err != nil {
				return bad("an RFC 3339 timestamp")
			}
			return t.UTC(), nil
		case durationFullName:
			d, err := time.ParseDuration(text)
			if err != nil {
				return bad("a duration such as 1.5s")
			}
			return d, nil
		}
	case protoreflect.BytesKind:
		return []byte(text), nil
	}
	// Integers.
	switch n := k.ConstantKind.(type) {
	case *expr.Constant_Int64Value:
		return n.Int64Value, nil
	case *expr.Constant_DoubleValue:
		// An integer field against a fractional literal compares as a
		// number: price < 9.5 keeps 9.
		if n.DoubleValue == math.Trunc(n.DoubleValue) && math.Abs(n.DoubleValue) < 1<<53 {
			return int64(n.DoubleValue), nil
		}
		return n.DoubleValue, nil
	}
	return bad("an integer")
}

package gen

import (
	"fmt"
	"go/ast"
	"go/token"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
)

// scopeChecker walks function bodies with the local scopes the generated
// code uses, looking for a use of an import hidden by a local.
type scopeChecker struct {
	imports  map[string]string // name -> import path
	declares func(importPath, name string) bool
	scopes   []map[string]bool
	bad      string
}

func (c *scopeChecker) push() { c.scopes = append(c.scopes, map[string]bool{}) }
func (c *scopeChecker) pop()  { c.scopes = c.scopes[:len(c.scopes)-1] }

func (c *scopeChecker) declare(id *ast.Ident) {
	if id != nil && id.Name != "_" {
		c.scopes[len(c.scopes)-1][id.Name] = true
	}
}

func (c *scopeChecker) declareFields(fl *ast.FieldList) {
	if fl == nil {
		return
	}
	for _, f := range fl.List {
		for _, n := range f.Names {
			c.declare(n)
		}
	}
}

func (c *scopeChecker) local(name string) bool {
	for _, s := range c.scopes {
		if s[name] {
			return true
		}
	}
	return false
}

// node checks the expressions in n in the current scopes; function
// literals open their own.
func (c *scopeChecker) node(n ast.Node) {
	if n == nil {
		return
	}
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && c.imports[id.Name] != "" && c.local(id.Name) && c.declares(c.imports[id.Name], n.Sel.Name) && c.bad == "" {
				c.bad = fmt.Sprintf("%s.%s refers to the import %s, hidden by a local of the same name", id.Name, n.Sel.Name, id.Name)
			}
		case *ast.FuncLit:
			c.node(n.Type) // resolved where the literal is
			c.push()
			c.declareFields(n.Type.Params)
			c.declareFields(n.Type.Results)
			c.stmts(n.Body.List)
			c.pop()
			return false
		}
		return true
	})
}

func (c *scopeChecker) stmts(list []ast.Stmt) {
	for _, s := range list {
		c.stmt(s)
	}
}

func (c *scopeChecker) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case nil:
	case *ast.AssignStmt:
		for _, e := range s.Rhs {
			c.node(e)
		}
		for _, e := range s.Lhs {
			if id, ok := e.(*ast.Ident); ok && s.Tok == token.DEFINE {
				c.declare(id)
			} else {
				c.node(e)
			}
		}
	case *ast.DeclStmt:
		for _, spec := range s.Decl.(*ast.GenDecl).Specs {
			if vs, ok := spec.(*ast.ValueSpec); ok {
				c.node(vs.Type)
				for _, v := range vs.Values {
					c.node(v)
				}
				for _, n := range vs.Names {
					c.declare(n)
				}
			}
		}
	case *ast.BlockStmt:
		c.push()
		c.stmts(s.List)
		c.pop()
	case *ast.IfStmt:
		c.push()
		c.stmt(s.Init)
		c.node(s.Cond)
		c.stmt(s.Body)
		c.stmt(s.Else)
		c.pop()
	case *ast.ForStmt:
		c.push()
		c.stmt(s.Init)
		c.node(s.Cond)
		c.stmt(s.Post)
		c.stmt(s.Body)
		c.pop()
	case *ast.RangeStmt:
		c.node(s.X)
		c.push()
		if s.Tok == token.DEFINE {
			for _, e := range []ast.Expr{s.Key, s.Value} {
				if id, ok := e.(*ast.Ident); ok {
					c.declare(id)
				}
			}
		}
		c.stmt(s.Body)
		c.pop()
	default:
		c.node(s)
	}
}

// topLevelNames lists the package-level identifiers a Go file declares.
func topLevelNames(file *ast.File) []string {
	var names []string
	for _, d := range file.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				names = append(names, d.Name.Name)
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					names = append(names, s.Name.Name)
				case *ast.ValueSpec:
					for _, n := range s.Names {
						names = append(names, n.Name)
					}
				}
			}
		}
	}
	return names
}

// receiverType is the type name of a receiver or embedded field: T, *T,
// pkg.T or T[...].
func receiverType(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return receiverType(e.X)
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.IndexExpr:
		return receiverType(e.X)
	case *ast.Ident:
		return e.Name
	}
	return fmt.Sprintf("%T", e)
}

// grpcNames are the package-level identifiers protoc-gen-go-grpc (v1.5 and
// later) declares for a file, as its grpc.go writes them.
func grpcNames(f *protogen.File) []string {
	var names []string
	for _, s := range f.Services {
		n := s.GoName
		names = append(names, n+"Client", strings.ToLower(n[:1])+n[1:]+"Client", "New"+n+"Client",
			n+"Server", "Unimplemented"+n+"Server", "Unsafe"+n+"Server", "Register"+n+"Server", n+"_ServiceDesc")
		for _, m := range s.Methods {
			names = append(names, n+"_"+m.GoName+"_FullMethodName", "_"+n+"_"+m.GoName+"_Handler")
			if m.Desc.IsStreamingClient() || m.Desc.IsStreamingServer() {
				names = append(names, n+"_"+m.GoName+"Client", n+"_"+m.GoName+"Server")
			}
		}
	}
	return names
}

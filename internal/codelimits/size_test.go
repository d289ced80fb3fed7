package codelimits

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	maxPackageLines  = 1500
	maxFunctionLines = 80
)

// exempt are programs, not libraries: the benchmark's report and checks.
var exempt = map[string]bool{"internal/cmd/bench": true}

func TestCodeLimits_PackagesAndFunctionsStaySmall(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]int{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lines[rel] += strings.Count(string(src), "\n")
		if exempt[rel] {
			return nil
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil || flat(fn.Body) {
				continue
			}
			n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			if n > maxFunctionLines {
				t.Errorf("%s: func %s is %d lines (limit %d): split it by job", fset.Position(fn.Pos()), fn.Name.Name, n, maxFunctionLines)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for pkg, n := range lines {
		if n > maxPackageLines && !exempt[pkg] {
			t.Errorf("package %s has %d non-test lines (limit %d): split it by job", pkg, n, maxPackageLines)
		}
	}
}

// flat tells a body that is one table or one switch (with at most a return
// around it), which reads as a list however long it is.
func flat(body *ast.BlockStmt) bool {
	n := 0
	for _, st := range body.List {
		switch st.(type) {
		case *ast.SwitchStmt, *ast.TypeSwitchStmt:
			n++
		case *ast.ReturnStmt:
			ret := st.(*ast.ReturnStmt)
			if len(ret.Results) == 1 {
				if _, ok := ret.Results[0].(*ast.CompositeLit); ok {
					n++
				}
			}
		default:
			return false
		}
	}
	return n == 1
}

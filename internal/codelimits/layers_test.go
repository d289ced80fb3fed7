// Package codelimits holds rules of the repository's shape as tests, so
// they hold without anyone having to remember them.
package codelimits

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// The layering the design relies on: the planner is pure, the daemon
// reaches collections only through the engine, and the versions store is
// plain files that the engine and the CLI call, knowing nothing of either.
func TestCodeLimits_PackagesImportOnlyTheirLayer(t *testing.T) {
	forbidden := map[string][]string{
		"engine/plan": {"os", "net", "net/http", "io/fs", "syscall", "time",
			"github.com/vdird/vdird/davclient", "github.com/vdird/vdird/vdir", "github.com/vdird/vdird/state"},
		"daemon": {"github.com/vdird/vdird/davclient", "github.com/vdird/vdird/vdir", "github.com/vdird/vdird/state"},
		"versions": {"net", "net/http", "github.com/vdird/vdird/engine", "github.com/vdird/vdird/davclient",
			"github.com/vdird/vdird/daemon", "github.com/vdird/vdird/internal/cli", "github.com/vdird/vdird/config",
			"github.com/vdird/vdird/vdir", "github.com/vdird/vdird/state"},
	}
	fset := token.NewFileSet()
	for dir, bad := range forbidden {
		files, err := filepath.Glob(filepath.Join("../..", dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				p := strings.Trim(imp.Path.Value, `"`)
				for _, b := range bad {
					if p == b || strings.HasPrefix(p, b+"/") {
						t.Errorf("%s imports %s: %s must not", path, p, dir)
					}
				}
			}
		}
	}
}

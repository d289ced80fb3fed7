// Package codelimits holds rules of the repository's shape as tests, so
// they hold without anyone having to remember them.
package codelimits

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The layering the design relies on: the planner, the choice of new
// collections and the merge are pure,
// the daemon reaches collections only through the engine (and a
// subscription's folder only through package subscription), the pass over
// one collection knows nothing of the configuration or how a client logs
// in (the engine hands it what it needs), the engine reports progress
// without knowing how it is shown (internal/progress draws it, for the
// CLI only), the OAuth2 token store knows nothing of vdird's
// configuration, sync or servers, the versions store is plain files that
// the engine and the CLI call, knowing nothing of either, the reading of
// vdirsyncer's configuration knows nothing of syncing, and the conflicts a
// user settles by hand are settled in the folder alone, never on the
// server or in state.
func TestCodeLimits_PackagesImportOnlyTheirLayer(t *testing.T) {
	drawing := []string{"github.com/vbauerster/mpb", "github.com/vdird/vdird/internal/progress"}
	forbidden := map[string][]string{
		"engine/plan": {"os", "net", "net/http", "io/fs", "syscall", "time",
			"github.com/vdird/vdird/davclient", "github.com/vdird/vdird/vdir", "github.com/vdird/vdird/state"},
		"engine/newcol": {"os", "net/http", "io/fs", "syscall", "time",
			"github.com/vdird/vdird/davclient", "github.com/vdird/vdird/vdir", "github.com/vdird/vdird/state"},
		"daemon":       append([]string{"github.com/vdird/vdird/davclient", "github.com/vdird/vdird/vdir", "github.com/vdird/vdird/state"}, drawing...),
		"engine":       drawing,
		"engine/apply": drawing,
		"engine/fresh": drawing,
		// A restore writes into folders only: the next pass uploads it.
		"engine/restore": append([]string{"github.com/vdird/vdird/davclient", "github.com/vdird/vdird/engine"}, drawing...),
		"engine/remote":  drawing,
		"engine/work":    append([]string{"github.com/vdird/vdird/engine"}, drawing...),
		"engine/pass": append([]string{"github.com/vdird/vdird/config", "github.com/vdird/vdird/internal/oauth",
			"github.com/vdird/vdird/daemon"}, drawing...),
		"internal/progress": {"github.com/vdird/vdird/davclient", "github.com/vdird/vdird/vdir", "github.com/vdird/vdird/state",
			"github.com/vdird/vdird/daemon", "github.com/vdird/vdird/internal/cli"},
		"internal/oauth": {"github.com/vdird/vdird/config", "github.com/vdird/vdird/engine", "github.com/vdird/vdird/daemon",
			"github.com/vdird/vdird/davclient", "github.com/vdird/vdird/vdir", "github.com/vdird/vdird/state", "github.com/vdird/vdird/internal/cli"},
		"engine/merge": {"os", "net", "net/http", "io/fs", "syscall", "time"},
		// What of a calendar is synced is worked out from the clock given.
		"engine/window": {"os", "net", "net/http", "io/fs", "syscall",
			"github.com/vdird/vdird/davclient", "github.com/vdird/vdird/vdir", "github.com/vdird/vdird/state"},
		// Requests only: no files, no state, no sync.
		"davclient/calfilter": {"os", "github.com/vdird/vdird/vdir", "github.com/vdird/vdird/state", "github.com/vdird/vdird/engine"},
		"engine/plan/gone": {"os", "net", "net/http", "io/fs", "syscall", "time",
			"github.com/vdird/vdird/davclient", "github.com/vdird/vdird/vdir", "github.com/vdird/vdird/state"},
		// Reads the records it is handed, nothing else.
		"engine/naming": {"os", "net", "net/http", "io/fs", "syscall", "time",
			"github.com/vdird/vdird/davclient", "github.com/vdird/vdird/vdir"},
		"internal/vdirsyncer": {"github.com/vdird/vdird/engine", "github.com/vdird/vdird/daemon",
			"github.com/vdird/vdird/davclient", "github.com/vdird/vdird/state"},
		"engine/conflicts": {"net", "net/http", "github.com/vdird/vdird/davclient", "github.com/vdird/vdird/state",
			"github.com/vdird/vdird/daemon", "github.com/vdird/vdird/config", "github.com/vdird/vdird/engine/apply"},
		"versions": {"net", "net/http", "github.com/vdird/vdird/engine", "github.com/vdird/vdird/davclient",
			"github.com/vdird/vdird/daemon", "github.com/vdird/vdird/internal/cli", "github.com/vdird/vdird/config",
			"github.com/vdird/vdird/vdir", "github.com/vdird/vdird/state"},
		"subscription": drawing,
		// The socket carries the engine's requests and answers, nothing of
		// how the daemon runs.
		"daemon/control": append([]string{"github.com/vdird/vdird/daemon", "github.com/vdird/vdird/davclient",
			"github.com/vdird/vdird/vdir", "github.com/vdird/vdird/state", "github.com/vdird/vdird/config"}, drawing...),
		// Printing only: no files, no state, no daemon.
		"internal/cli/report": {"os", "github.com/vdird/vdird/daemon", "github.com/vdird/vdird/state", "github.com/vdird/vdird/vdir"},
		// Conflicts are settled in the folders alone.
		"internal/cli/conflictview": {"net", "net/http", "github.com/vdird/vdird/davclient", "github.com/vdird/vdird/state",
			"github.com/vdird/vdird/daemon", "github.com/vdird/vdird/engine/apply", "github.com/vdird/vdird/engine/pass"},
		// Forgetting changes state only, through the daemon or the engine:
		// no folder, no server.
		"internal/cli/forget": {"os", "net", "net/http", "github.com/vdird/vdird/davclient", "github.com/vdird/vdird/vdir"},
		"internal/cli/importer": {"github.com/vdird/vdird/engine", "github.com/vdird/vdird/daemon",
			"github.com/vdird/vdird/davclient", "github.com/vdird/vdird/state"},
	}
	// onlyModules lists, for some packages, the only modules outside the
	// standard library they may import.
	onlyModules := map[string][]string{
		"engine/merge": {"github.com/emersion/go-ical", "github.com/vdird/vdird/internal/ics"},
		// A subscription keeps a folder equal to a feed: no CalDAV, no
		// sync state, no engine, only the HTTP transport and the folder.
		"subscription": {"github.com/emersion/go-ical", "github.com/rs/zerolog", "github.com/vdird/vdird/config",
			"github.com/vdird/vdird/davclient/webdav/transport", "github.com/vdird/vdird/engine/plan",
			"github.com/vdird/vdird/internal/ics", "github.com/vdird/vdird/internal/statefile",
			"github.com/vdird/vdird/internal/version", "github.com/vdird/vdird/vdir"},
		// Reads a recurring item to tell whether it overlaps a window.
		"engine/window": {"github.com/emersion/go-ical"},
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
				if only, ok := onlyModules[dir]; ok && strings.Contains(strings.Split(p, "/")[0], ".") && !slices.Contains(only, p) {
					t.Errorf("%s imports %s: %s may import only the standard library and %v", path, p, dir, only)
				}
				for _, b := range bad {
					if p == b || strings.HasPrefix(p, b+"/") {
						t.Errorf("%s imports %s: %s must not", path, p, dir)
					}
				}
			}
		}
	}
}

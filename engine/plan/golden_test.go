package plan

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Golden scenarios (in the spirit of rclone bisync's testdata): each
// testdata/*.txt file holds scenarios in a small line format:
//
//	scenario NAME                 starts a scenario
//	options policy=local-wins readonly allow-mass-delete merge local-missing max-delete-fraction=0.3 max-delete-min=2
//	known  href=H etag=E name=N hash=X uid=U
//	local  name=N hash=X uid=U [invalid=REASON] [content=K]
//	remote href=H etag=E [hash=X uid=U content=K]
//	synced N                      N items i00.. known, local and remote alike
//	drop-local N / drop-remote N  remove the first N local files / members
//	expect ACTION                 one action as Action.String() prints it, in plan order
//	expect-reason TEXT            some action's Reason contains TEXT
//	refused side=S deletes=D known=K
//
// Blank lines and lines starting with # are ignored. Values hold no spaces.

type golden struct {
	name    string
	line    int
	in      Input
	expect  []string
	reasons []string
	refused string
}

func parseKV(fields []string) (map[string]string, error) {
	kv := map[string]string{}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			v = "true"
		}
		kv[k] = v
	}
	return kv, nil
}

func readGolden(path string) ([]*golden, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []*golden
	var g *golden
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		if word == "scenario" {
			g = &golden{name: rest, line: n}
			out = append(out, g)
			continue
		}
		if g == nil {
			return nil, fmt.Errorf("%s:%d: %q before any scenario", path, n, word)
		}
		kv, _ := parseKV(strings.Fields(rest))
		switch word {
		case "options":
			o := &g.in.Options
			o.Policy = Policy(kv["policy"])
			o.ReadOnly = kv["readonly"] == "true"
			o.AllowMassDelete = kv["allow-mass-delete"] == "true"
			o.Merge = kv["merge"] == "true"
			g.in.LocalMissing = kv["local-missing"] == "true"
			if v, ok := kv["max-delete-fraction"]; ok {
				o.MaxDeleteFraction, err = strconv.ParseFloat(v, 64)
			}
			if v, ok := kv["max-delete-min"]; ok && err == nil {
				o.MaxDeleteMin, err = strconv.Atoi(v)
			}
		case "known":
			g.in.Known = append(g.in.Known, Known{Href: kv["href"], ETag: kv["etag"], Name: kv["name"], Hash: kv["hash"], UID: kv["uid"]})
		case "local":
			g.in.Local = append(g.in.Local, Local{Name: kv["name"], Hash: kv["hash"], UID: kv["uid"], Invalid: kv["invalid"], Content: kv["content"]})
		case "remote":
			g.in.Remote = append(g.in.Remote, Remote{Href: kv["href"], ETag: kv["etag"], Hash: kv["hash"], UID: kv["uid"], Content: kv["content"]})
		case "synced":
			var k []Known
			var l []Local
			var r []Remote
			var count int
			if count, err = strconv.Atoi(rest); err == nil {
				k, l, r = synced(count)
				g.in.Known, g.in.Local, g.in.Remote = append(g.in.Known, k...), append(g.in.Local, l...), append(g.in.Remote, r...)
			}
		case "drop-local", "drop-remote":
			var count int
			if count, err = strconv.Atoi(rest); err == nil {
				if word == "drop-local" {
					g.in.Local = g.in.Local[count:]
				} else {
					g.in.Remote = g.in.Remote[count:]
				}
			}
		case "expect":
			g.expect = append(g.expect, rest)
		case "expect-reason":
			g.reasons = append(g.reasons, rest)
		case "refused":
			g.refused = rest
		default:
			err = fmt.Errorf("unknown directive %q", word)
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return out, sc.Err()
}

func TestPlan_GoldenScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	total := 0
	for _, file := range files {
		scenarios, err := readGolden(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range scenarios {
			total++
			t.Run(strings.TrimSuffix(filepath.Base(file), ".txt")+"/"+g.name, func(t *testing.T) {
				where := fmt.Sprintf("%s:%d", file, g.line)
				res := Plan(g.in)
				if g.refused != "" {
					if res.Refused == nil {
						t.Fatalf("%s: not refused; actions %v", where, actionStrings(res.Actions))
					}
					r := res.Refused
					if got := fmt.Sprintf("side=%s deletes=%d known=%d", r.Side, r.Deletes, r.Known); got != g.refused {
						t.Errorf("%s: refused %s, want %s (%s)", where, got, g.refused, r.Reason)
					}
					return
				}
				if res.Refused != nil {
					t.Fatalf("%s: refused: %s", where, res.Refused.Reason)
				}
				got := actionStrings(res.Actions)
				if !slices.Equal(got, append([]string{}, g.expect...)) {
					t.Errorf("%s: actions\n got: %s\nwant: %s", where, strings.Join(got, "\n      "), strings.Join(g.expect, "\n      "))
				}
				for _, want := range g.reasons {
					if !slices.ContainsFunc(res.Actions, func(a Action) bool { return strings.Contains(a.Reason, want) }) {
						t.Errorf("%s: no reason contains %q", where, want)
					}
				}
			})
		}
	}
	if total < 10 {
		t.Errorf("only %d golden scenarios", total)
	}
}

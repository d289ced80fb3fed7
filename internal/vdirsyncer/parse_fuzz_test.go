package vdirsyncer

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/internal/testserver"
)

// nastyConfigs are vdirsyncer configs as people write them and as they
// break: the seeds of FuzzParse and the inputs TestParse_ReadsWhatVdirsyncerReads
// compares with vdirsyncer's own reader.
var nastyConfigs = []string{
	conf(fromA, server, calendars),
	conf(`collections = [["w", "work-cal", "work"], "home", "from b"]`, server+"\npassword.fetch = [\"command\", \"~/x\", \"it's\"]", calendars),
	conf("collections = null", "url = \"https://dav.example.org/alice/work/\"", "path = \"~/.calendars/work\"\nfileext = \".ics\""),
	"\ufeff" + conf(fromA, server, calendars),
	strings.ReplaceAll(conf(fromA, server, calendars), "\n", "\r\n"),
	conf("collections = [\n  \"a\",\n\t\"b\"\n  ]", server, calendars),
	conf("collections = [\n\n  \"a\"]", server, calendars),
	conf("collections = [\n  # a comment\n  \"a\"]", server, calendars),
	conf(fromA+"\nconflict_resolution = \"a wins\" # inline?", server, calendars),
	strings.Replace(conf("collections =\n    [\"a\",\n\t\"b\"]\nMetaData: [\"color\"]", "URL: \"https://h:8443/x=y\"\nuser name = \"%(home)s\"", calendars), "type =", "TYPE:", 1),
	strings.ReplaceAll(conf("collections = [\n  \"a\"]", server, calendars), "\n", "\r"),
	conf(fromA, server+"\npassword = \"=:;#[]\"\n\tverify = false", calendars),
	conf(fromA, "url = \"https://h/#x;y\"\npassword = \"p#ss;w\\u00f6rd\\n\\\"\"", calendars),
	conf(fromA, "url : \"https://h/\"\nUserName: \"Ä\"", calendars),
	conf(fromA, "url = \"\"\"https://h/\"\"\"", calendars),
	conf(fromA, "url = `https://h/`", calendars),
	conf(fromA, "url = https://h/ \\\n  x", calendars),
	conf(fromA, "- = 1\n-: 2", calendars),
	conf(fromA, "url = 'https://h/'", calendars),
	conf(fromA, server+"\nverify_fingerprint = 12\nverify = [1, {\"a\": null}]\nauth_cert = [[\"a\"]]", calendars),
	conf("collections = {\"a\": 1}\nmetadata = \"color\"\nconflict_resolution = [\"command\"]", server, "path = \"/\"\nfileext = \".ics\""),
	conf("collections = null", "url = \"https://h/%2F%00/\"", "path = \"~\"\nfileext = \".ics\""),
	conf(fromA, server, "path = \"~nosuchuser/x\"\nfileext = \".ics\""),
	"[general]\nstatus_path = \"x\"\n[pair p]\na = \"s\"\nb = \"s\"\ncollections = null\n[storage s]\ntype = \"filesystem\"\npath = \"/x\"\nfileext = \".ics\"\n",
	"[pair _]\na = \"x\"\nb = \"y\"\n[pair -.-]\na = 1\nb = null\n",
	"key = before any section\n[pair p]\na = \"s\"\n",
	"[pair p]\n[pair p]\na = \"x\"\n[storage x]\n[storage x]\ntype = \"caldav\"\n",
	"[pair a]]\n[ pair  b ]\n[pair c] ; comment\n[]\n[pair]\n",
	"[pair p]\na = \"s\"\nb = \"f\"\ncollections = [\"from a\"]\n[storage s]\ntype = \"caldav\"\nurl = \"https://h/\"\n[storage f]\ntype = \"filesystem\"\npath = \"/a\nb\"\nfileext = \".ics\"\n",
	"[pair p]\na = \"s\"\nb = \"f\"\ncollections = [\"from a\"]\n[storage s]\ntype = \"caldav\"\nurl = \"https://h/\u0000\"\n[storage f]\ntype = \"filesystem\"\npath = \"/a\"\nfileext = \".ics\"\n",
	generalSec + "[pair p]\na=\"s\"\nb=\"f\"\ncollections=[\"from a\"]\n[storage s]\ntype=\"caldav\"\nurl=\"http://[::1]:5232/\"\n[storage f]\ntype=\"filesystem\"\npath=\"/" + strings.Repeat("d/", 300) + "\"\nfileext=\".ics\"\n",
	dated("datetime.now() - timedelta(days=1, hours=-3)", "start_date + timedelta(weeks=2,)", "\nitem_types = [\"VTODO\"]"),
	bothPairs(server, server, "conflict_resolution = \"a wins\"", "metadata = [\"displayname\"]", true),
	strings.Replace(bothPairs(server, server, "", "", false), contacts, "path = \"~/.calendars/\"\nfileext = \".vcf\"", 1),
	cardConf("collections = null", "url = \"https://dav.example.org/alice/family/\"", "path = \"~/.contacts/family\"\nfileext = \".vcf\""),
	"[pair p]\na = \"" + strings.Repeat("[", 5000) + "\"\n",
	"[pair p]\na = " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n",
}

// FuzzParse checks that no input makes Parse or Convert panic, that every
// note is one line, and that a converted config always loads.
func FuzzParse(f *testing.F) {
	for _, s := range nastyConfigs {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("config", data)
		if err != nil {
			return
		}
		res := Convert(c)
		for _, n := range res.Notes {
			if strings.ContainsAny(n.String(), "\r\n") {
				t.Errorf("a note of several lines: %q", n.String())
			}
		}
		if res.TOML == nil {
			if len(res.Accounts) != 0 {
				t.Errorf("accounts %v without a config", res.Accounts)
			}
			return
		}
		cfg, err := config.Parse("config.toml", res.TOML)
		if err != nil {
			t.Fatalf("the converted config does not load: %v\n%s", err, res.TOML)
		}
		if len(cfg.Accounts) != len(res.Accounts) {
			t.Errorf("%d accounts in the config, %d named", len(cfg.Accounts), len(res.Accounts))
		}
	})
}

// vdirsyncerReader prints, for each config file named, the pairs and
// storages vdirsyncer's own reader makes of it, or its error.
const vdirsyncerReader = `
import json, sys
from vdirsyncer.cli.config import _ConfigReader
out = []
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            general, pairs, storages = _ConfigReader(f).parse()
        out.append({"pairs": pairs, "storages": storages})
    except Exception as e:
        out.append({"error": str(e)})
print(json.dumps(out))
`

// TestParse_ReadsWhatVdirsyncerReads reads nastyConfigs with vdirsyncer's
// own configuration reader (the Debian package's Python) and with Parse,
// and wants the same sections, keys and values from both wherever
// vdirsyncer accepts the file.
func TestParse_ReadsWhatVdirsyncerReads(t *testing.T) {
	testserver.Need(t, "vdirsyncer")
	python := vdirsyncerPython(t)
	dir := t.TempDir()
	var files []string
	for i, s := range nastyConfigs {
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	out, err := exec.Command(python, append([]string{"-c", vdirsyncerReader}, files...)...).Output()
	if err != nil {
		t.Fatalf("%s: %v", python, err)
	}
	var theirs []struct {
		Pairs, Storages map[string]map[string]any
		Error           string
	}
	if err := json.Unmarshal(out, &theirs); err != nil {
		t.Fatal(err)
	}
	compared := 0
	for i, th := range theirs {
		if th.Error != "" {
			continue
		}
		compared++
		c, err := Parse(files[i], []byte(nastyConfigs[i]))
		if err != nil {
			t.Errorf("config %d: vdirsyncer reads it, Parse: %v\n%s", i, err, nastyConfigs[i])
			continue
		}
		ours := map[string]map[string]any{}
		for _, p := range c.Pairs {
			ours["pair "+p.Name] = p.Values
		}
		for name, s := range c.Storages {
			ours["storage "+name] = s.Values
		}
		want := map[string]map[string]any{}
		for name, v := range th.Pairs {
			want["pair "+name] = v
		}
		for name, v := range th.Storages {
			delete(v, "instance_name")
			want["storage "+name] = v
		}
		if !reflect.DeepEqual(ours, want) {
			t.Errorf("config %d:\nParse:      %s\nvdirsyncer: %s\n%s", i, show(anyMap(ours)), show(anyMap(want)), nastyConfigs[i])
		}
	}
	if compared < len(nastyConfigs)/3 {
		t.Errorf("vdirsyncer read only %d of %d configs", compared, len(nastyConfigs))
	}
	t.Logf("vdirsyncer read %d of %d configs, and Parse read each the same", compared, len(nastyConfigs))
}

// vdirsyncerPython is the Python that runs vdirsyncer, from its script's
// first line.
func vdirsyncerPython(t *testing.T) string {
	t.Helper()
	bin, _ := exec.LookPath("vdirsyncer")
	script, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(script), "\n")
	return strings.TrimSpace(strings.TrimPrefix(first, "#!"))
}

func anyMap(m map[string]map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = map[string]any(v)
	}
	return out
}

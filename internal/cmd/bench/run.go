package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func itoa(i int) string { return strconv.Itoa(i) }

// measure is one timed run of one tool.
type measure struct {
	Wall    time.Duration
	CPU     time.Duration // user + sys
	RSSKB   int64         // peak resident set size
	Use     usage         // requests and bytes through the counter
	Skipped bool
}

// timed runs argv under /usr/bin/time -v and returns wall, user+sys CPU and
// peak RSS as GNU time reports them (children included, as for any tool).
func timed(dir string, env []string, stdin string, argv ...string) (measure, string, error) {
	tf := filepath.Join(dir, fmt.Sprintf("time-%d.txt", time.Now().UnixNano()))
	cmd := exec.Command("/usr/bin/time", append([]string{"-v", "-o", tf}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	m, perr := parseTime(tf)
	if perr != nil && err == nil {
		err = perr
	}
	if m.Wall == 0 {
		m.Wall = wall
	}
	if err != nil {
		return m, out.String(), fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, tail(out.String(), 3000))
	}
	return m, out.String(), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// parseTime reads GNU time's -v report.
func parseTime(path string) (measure, error) {
	f, err := os.Open(path)
	if err != nil {
		return measure{}, fmt.Errorf("read time report: %w", err)
	}
	defer f.Close()
	var m measure
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		switch k {
		case "User time (seconds)", "System time (seconds)":
			x, _ := strconv.ParseFloat(v, 64)
			m.CPU += time.Duration(x * float64(time.Second))
		case "Maximum resident set size (kbytes)":
			m.RSSKB, _ = strconv.ParseInt(v, 10, 64)
		case "Elapsed (wall clock) time (h:mm:ss or m:ss)":
			m.Wall = parseClock(v)
		}
	}
	return m, sc.Err()
}

// parseClock parses "1:02.53" or "1:01:02" (h:mm:ss or m:ss.ss).
func parseClock(v string) time.Duration {
	parts := strings.Split(v, ":")
	var secs float64
	for _, p := range parts {
		x, _ := strconv.ParseFloat(p, 64)
		secs = secs*60 + x
	}
	return time.Duration(secs * float64(time.Second))
}

// countFiles counts the .ics files below dir (one level of collections).
func countFiles(dir string) int { return countExt(dir, ".ics") }

// findItem returns the path and bytes of the .ics file in dir whose UID is
// uid: vdirsyncer names files after a random id when the UID is not a safe
// file name, so files are found by content, outside any timing.
func findItem(dir, uid string) (string, []byte, error) {
	want := []byte("UID:" + uid)
	// Most clients name the file after the href: try that first.
	if p := filepath.Join(dir, strings.TrimSuffix(uid, "@vdird.bench")+".ics"); true {
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, want) {
			return p, b, nil
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", nil, err
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".ics") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, want) {
			return p, b, nil
		}
	}
	return "", nil, fmt.Errorf("no file with UID %s in %s", uid, dir)
}

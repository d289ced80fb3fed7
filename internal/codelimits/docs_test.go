package codelimits

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The docs name the test behind each claim; a renamed or deleted test must
// not leave a claim pointing at nothing.
func TestDocs_EveryCitedTestExists(t *testing.T) {
	defined := map[string]bool{}
	funcRe := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)\w+)`)
	err := filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && d.Name() != "." && d.Name() != ".." {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range funcRe.FindAllSubmatch(src, -1) {
			defined[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	docs, _ := filepath.Glob("../../docs/*.md")
	docs = append(docs, "../../README.md")
	// A name ending in "_*" stands for every test with that prefix.
	citeRe := regexp.MustCompile("`((?:Test|Fuzz|Benchmark)[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*)(_\\*)?")
	for _, doc := range docs {
		src, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range citeRe.FindAllSubmatch(src, -1) {
			name := string(m[1])
			if len(m[2]) > 0 {
				if !anyWithPrefix(defined, name+"_") {
					t.Errorf("%s cites %s_*, and no test has that prefix", filepath.Base(doc), name)
				}
				continue
			}
			if !defined[name] {
				t.Errorf("%s cites %s, which no test file defines", filepath.Base(doc), name)
			}
		}
	}
}

func anyWithPrefix(names map[string]bool, prefix string) bool {
	for n := range names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

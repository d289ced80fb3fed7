package config

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/vdird/vdird/versions"
)

// globalVersions sets where the versions store lies (beside the state
// file) and reads the global keep_versions and versions_max_size over the
// defaults of package versions.
func (p parser) globalVersions(fc fileConfig, c *Config) error {
	c.VersionsDir = filepath.Join(filepath.Dir(c.StatePath), "versions")
	c.KeepVersions, c.VersionsMaxSize = versions.DefaultKeepFor, versions.DefaultMaxBytes
	at := func(key string) []string { return []string{key} }
	return p.retention(at, fc.KeepVersions, fc.VersionsMaxSize, &c.KeepVersions, &c.VersionsMaxSize)
}

// retention reads keep_versions and versions_max_size into keep and size,
// which hold the defaults; at locates a key for errors.
func (p parser) retention(at func(key string) []string, keepText, sizeText string, keep *time.Duration, size *int64) error {
	if keepText != "" {
		d, err := ParseDuration(keepText)
		if err != nil || d < 0 {
			return p.bad(at("keep_versions"), `keep_versions %q: want a duration like "30d" or "12h", or "0" to keep no versions`, keepText)
		}
		*keep = d
	}
	if sizeText != "" {
		n, err := humanize.ParseBytes(sizeText)
		if err != nil || n > math.MaxInt64 {
			return p.bad(at("versions_max_size"), `versions_max_size %q: want a size like "200MB" or "1GiB", or "0" for no cap`, sizeText)
		}
		*size = int64(n)
	}
	return nil
}

// accountVersions reads the i-th account's keep_versions (the global one by
// default) and versions_max_size (no cap of its own by default), and checks
// that the versions store lies outside its local_root, where khal and
// todoman would read it.
func (p parser) accountVersions(i int, fa fileAccount, c *Config, a *Account) error {
	at := func(key string) []string { return []string{"account", key, fmt.Sprint(i)} }
	a.KeepVersions = c.KeepVersions
	if err := p.retention(at, fa.KeepVersions, fa.VersionsMaxSize, &a.KeepVersions, &a.VersionsMaxSize); err != nil {
		return err
	}
	if rel, err := filepath.Rel(a.LocalRoot, c.VersionsDir); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		return p.bad(at("local_root"), "account %q: local_root %s holds vdird's versions store %s: move state_path or local_root", a.Name, a.LocalRoot, c.VersionsDir)
	}
	return nil
}

var daysRe = regexp.MustCompile(`^([0-9]+)([dw])(.*)$`)

// ParseDuration reads a duration as time.ParseDuration does, with two more
// units before the others: d (24 hours) and w (7 days), as in "30d", "2w"
// or "1w2d12h".
func ParseDuration(s string) (time.Duration, error) {
	m := daysRe.FindStringSubmatch(s)
	if m == nil {
		return time.ParseDuration(s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	unit := 24 * time.Hour
	if m[2] == "w" {
		unit *= 7
	}
	if err != nil || n > int64(math.MaxInt64/unit) {
		return 0, fmt.Errorf("duration %q: too long", s)
	}
	d := time.Duration(n) * unit
	if m[3] == "" {
		return d, nil
	}
	rest, err := ParseDuration(m[3])
	if err != nil || rest < 0 || rest > math.MaxInt64-d {
		return 0, fmt.Errorf("duration %q: want a number and a unit (d, h, m, s) after the %s", s, m[2])
	}
	return d + rest, nil
}

// VersionsOptions are the retention settings of the versions store: the
// global keys for the whole store, each account's for its versions.
func (c *Config) VersionsOptions() versions.Options {
	o := versions.Options{
		Retention: versions.Retention{KeepFor: c.KeepVersions, MaxBytes: c.VersionsMaxSize},
		Accounts:  make(map[string]versions.Retention, len(c.Accounts)),
	}
	for _, a := range c.Accounts {
		o.Accounts[a.Name] = versions.Retention{KeepFor: a.KeepVersions, MaxBytes: a.VersionsMaxSize}
	}
	return o
}

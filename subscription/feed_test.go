package subscription

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/vdir"
)

// feedServer serves one feed as a web server serves a static file: with
// an ETag and a Last-Modified, and 304 to a GET whose If-None-Match
// matches. It counts the requests.
type feedServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte
	etag     string
	modified time.Time
	// user and pass, when set, are required as Basic credentials.
	user, pass string
	// noValidators serves no ETag and no Last-Modified.
	noValidators bool
	// handler, when set, answers instead.
	handler http.HandlerFunc

	requests, conditional int
	paths                 []string
}

func newFeedServer(t *testing.T, body []byte) *feedServer {
	fs := &feedServer{}
	fs.set(body)
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.Close)
	return fs
}

// set replaces the feed.
func (fs *feedServer) set(body []byte) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	sum := sha256.Sum256(body)
	fs.body, fs.etag = body, `"`+hex.EncodeToString(sum[:8])+`"`
	fs.modified = fs.modified.Add(time.Minute)
	if fs.modified.Before(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) {
		fs.modified = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
}

func (fs *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	fs.requests++
	fs.paths = append(fs.paths, r.URL.Path)
	if r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" {
		fs.conditional++
	}
	body, etag, modified, h := fs.body, fs.etag, fs.modified, fs.handler
	fs.mu.Unlock()
	if fs.user != "" {
		if u, p, ok := r.BasicAuth(); !ok || u != fs.user || p != fs.pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="feeds"`)
			http.Error(w, "login, please", http.StatusUnauthorized)
			return
		}
	}
	if h != nil {
		h(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	if !fs.noValidators {
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", modified.Format(http.TimeFormat))
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	_, _ = w.Write(body)
}

// counts returns the requests so far and how many were conditional.
func (fs *feedServer) counts() (all, conditional int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.requests, fs.conditional
}

// testSub is a subscription of url whose folder and record are in a
// temporary directory.
func testSub(t *testing.T, url string) *config.Subscription {
	dir := t.TempDir()
	return &config.Subscription{Name: "feed", URL: url, Interval: time.Hour, LocalRoot: filepath.Join(dir, "subs"),
		Dir: filepath.Join(dir, "subs", "feed"), StateFile: filepath.Join(dir, "state", "subscriptions", "feed.json"),
		ConnectTimeout: 5 * time.Second, ResponseTimeout: 10 * time.Second}
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func syncOK(t *testing.T, sub *config.Subscription, opts Options) *Result {
	t.Helper()
	opts.Log = zerolog.Nop()
	res := Sync(t.Context(), sub, opts)
	if res.Failed() {
		t.Fatalf("sync: err %v, refused %q, problems %q", res.Err, res.Refused, res.Problems)
	}
	return res
}

// fileState is a file of the folder as a test compares it: its content
// and stat fingerprint.
type fileState struct {
	data string
	fp   vdir.Fingerprint
}

// folder returns every regular file of dir (item files, conflict copies,
// displayname and color) with its fingerprint.
func folder(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]fileState{}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		d, err := vdir.Open(dir, vdir.ICS)
		if err != nil {
			t.Fatal(err)
		}
		data, fp, err := d.Read(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fileState{string(data), fp}
	}
	return out
}

package main

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vdird/vdird/internal/testserver"
	"golang.org/x/sys/unix"
)

// The raw limit is the least work any client must do for an initial sync:
// fetch every item with one calendar-query REPORT (curl) and put the files on
// disk durably. rawWrite is its second half, run as a child process (this
// binary with helperEnv=rawwrite) so /usr/bin/time measures it alone.

const helperEnv = "VDIRD_BENCH_HELPER"

// rawWriteMain is the child: rawwrite MODE MULTISTATUS.xml DIR, where MODE is
// "batched" (temp files, one syncfs, renames, one directory fsync),
// "parallel-fsync" (temp files fsynced by 32 workers, renames, one directory
// fsync) or "fsync-each" (temp file, fsync, rename per item, one directory fsync).
func rawWriteMain(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: rawwrite batched|parallel-fsync|fsync-each MULTISTATUS.xml DIR")
		return 2
	}
	n, err := rawWrite(args[0], args[1], args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "rawwrite:", err)
		return 1
	}
	fmt.Println(n)
	return 0
}

// rawWrite writes the calendar-data of the multistatus in src as files in
// dir, made durable as mode says, and returns how many it wrote.
func rawWrite(mode, src, dir string) (int, error) {
	f, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	var pool *fsyncPool
	if mode == "parallel-fsync" {
		pool = newFsyncPool(32)
	}
	var done []pending
	err = eachCalendarData(bufio.NewReaderSize(f, 1<<16), func(href string, data []byte) error {
		p, err := writeItem(dir, href, data, mode == "fsync-each")
		if err != nil || mode == "fsync-each" {
			return err
		}
		done = append(done, p)
		pool.add(p.tmp)
		return nil
	})
	if perr := pool.wait(); err == nil {
		err = perr
	}
	if err != nil {
		return 0, err
	}
	return publish(mode, dir, done)
}

// pending is an item's temp file and the name it gets once durable.
type pending struct{ tmp, final string }

// writeItem writes one item beside its final name; with fsyncEach it is
// flushed and renamed at once, else publish renames it.
func writeItem(dir, href string, data []byte, fsyncEach bool) (pending, error) {
	name := path.Base(href)
	if name == "" || name == "." || name == "/" || strings.HasPrefix(name, ".") {
		return pending{}, fmt.Errorf("bad href %q", href)
	}
	p := pending{tmp: filepath.Join(dir, "."+name+".tmp"), final: filepath.Join(dir, name)}
	w, err := os.OpenFile(p.tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return p, err
	}
	_, err = w.Write(data)
	if err == nil && fsyncEach {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil || !fsyncEach {
		return p, err
	}
	return p, os.Rename(p.tmp, p.final)
}

// publish makes the written items visible and the folder durable: for
// "batched" one flush of the whole filesystem makes every temp file
// durable first ("parallel-fsync" has its pool for that), then the
// renames; "fsync-each" has renamed already.
func publish(mode, dir string, done []pending) (int, error) {
	d, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	if mode == "fsync-each" {
		return countFiles(dir), d.Sync()
	}
	if mode == "batched" {
		if err := unix.Syncfs(int(d.Fd())); err != nil {
			return 0, fmt.Errorf("syncfs: %w", err)
		}
	}
	for _, p := range done {
		if err := os.Rename(p.tmp, p.final); err != nil {
			return 0, err
		}
	}
	return len(done), d.Sync()
}

// fsyncPool fsyncs temp files on several workers while the stream is still
// being written, so the disk sees many flushes in flight at once. A nil
// pool does nothing.
type fsyncPool struct {
	work chan string
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
}

func newFsyncPool(workers int) *fsyncPool {
	p := &fsyncPool{work: make(chan string, 256)}
	for w := 0; w < workers; w++ {
		p.wg.Go(func() {
			for path := range p.work {
				if err := fsyncFile(path); err != nil {
					p.mu.Lock()
					p.err = err
					p.mu.Unlock()
				}
			}
		})
	}
	return p
}

func (p *fsyncPool) add(path string) {
	if p != nil {
		p.work <- path
	}
}

// wait ends the pool once every file is flushed.
func (p *fsyncPool) wait() error {
	if p == nil {
		return nil
	}
	close(p.work)
	p.wg.Wait()
	return p.err
}

func fsyncFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// eachCalendarData streams a multistatus (RFC 4918 §14.16) and calls fn with
// the href and calendar-data (RFC 4791 §9.6) of every response carrying one.
func eachCalendarData(r io.Reader, fn func(href string, data []byte) error) error {
	dec := xml.NewDecoder(r)
	var href string
	var data []byte
	var cur string
	var buf []byte
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Space == "DAV:" && t.Name.Local == "response":
				href, data = "", nil
			case t.Name.Space == "DAV:" && t.Name.Local == "href",
				t.Name.Space == "urn:ietf:params:xml:ns:caldav" && t.Name.Local == "calendar-data":
				cur, buf = t.Name.Local, buf[:0]
			}
		case xml.CharData:
			if cur != "" {
				buf = append(buf, t...)
			}
		case xml.EndElement:
			switch {
			case cur == "href" && t.Name.Local == "href" && href == "":
				href = strings.TrimSpace(string(buf))
				cur = ""
			case cur == "calendar-data" && t.Name.Local == "calendar-data":
				data = append([]byte(nil), buf...)
				cur = ""
			case t.Name.Space == "DAV:" && t.Name.Local == "response":
				if data != nil {
					if err := fn(href, data); err != nil {
						return err
					}
				}
			default:
				if t.Name.Local == cur {
					cur = ""
				}
			}
		}
	}
}

// rawResult is one run of the raw limit: the best fetch plus the best
// batched durable write, and the parts.
type rawResult struct {
	Curl                measure // the faster of CurlPlain and CurlGzip
	CurlPlain, CurlGzip measure
	Batched             measure // the faster of Syncfs and ParallelFsync
	Syncfs              measure
	ParallelFsync       measure
	FsyncEach           measure // for scale, not part of the limit: timed once per size by rawFsyncEach
	Bytes               int64
	Items               int
}

// total is the raw limit of this run: the faster fetch plus the faster
// batched write.
func (r rawResult) total() time.Duration { return r.Curl.Wall + r.Batched.Wall }

// rawLimit measures the raw limit once into work: the fetch with curl, plain
// and compressed, then the batched writes. It keeps the files it wrote:
// deleting thousands of files changes what creating the next thousands
// costs, and the benchmark's work dir is removed at the end anyway.
func rawLimit(work, self string, s *testserver.Server, calHref string) (rawResult, error) {
	var r rawResult
	if err := os.MkdirAll(work, 0o700); err != nil {
		return r, err
	}
	out := filepath.Join(work, rawReport)
	body := filepath.Join(work, "query.xml")
	if err := os.WriteFile(body, []byte(calendarQuery(true)), 0o600); err != nil {
		return r, err
	}
	// Both clients ask for gzip (Radicale compresses), so the raw limit is
	// the faster of a plain and a compressed fetch.
	for _, gz := range []bool{false, true} {
		argv := []string{"curl", "-sS", "--fail", "-o", out, "-u", s.User + ":" + s.Password,
			"-X", "REPORT", "-H", "Depth: 1", "-H", "Content-Type: application/xml; charset=utf-8",
			"--data-binary", "@" + body, "-w", "%{size_download}"}
		if gz {
			argv = append(argv, "--compressed")
		}
		m, wire, err := timed(work, nil, "", append(argv, strings.TrimSuffix(s.URL, "/")+calHref)...)
		if err != nil {
			return r, fmt.Errorf("raw curl: %w", err)
		}
		var n int64
		fmt.Sscan(strings.TrimSpace(wire), &n)
		m.Use = usage{Requests: 1, Out: n, Methods: map[string]int{"REPORT": 1}}
		if gz {
			r.CurlGzip = m
		} else {
			r.CurlPlain = m
		}
	}
	r.Curl = r.CurlPlain
	if r.CurlGzip.Wall < r.CurlPlain.Wall {
		r.Curl = r.CurlGzip
	}
	if st, err := os.Stat(out); err == nil {
		r.Bytes = st.Size()
	}
	var err error
	if r.Syncfs, r.Items, err = rawWriteTimed(work, self, "batched"); err != nil {
		return r, err
	}
	if r.ParallelFsync, _, err = rawWriteTimed(work, self, "parallel-fsync"); err != nil {
		return r, err
	}
	r.Batched = r.Syncfs
	if r.ParallelFsync.Wall < r.Syncfs.Wall {
		r.Batched = r.ParallelFsync
	}
	return r, nil
}

// rawReport is the multistatus a rawLimit run fetched, in its work dir.
const rawReport = "report.xml"

// rawFsyncEach times writing the files of the REPORT a rawLimit run left in
// work with one fsync per file. It is there for scale, not part of the
// limit, so it runs once per size, after the repeated runs.
func rawFsyncEach(work, self string) (measure, error) {
	m, _, err := rawWriteTimed(work, self, "fsync-each")
	return m, err
}

// rawWriteTimed runs the rawwrite helper under /usr/bin/time, writing the
// REPORT in work into work/MODE, and returns its measure and file count.
func rawWriteTimed(work, self, mode string) (measure, int, error) {
	m, outp, err := timed(work, []string{helperEnv + "=rawwrite"}, "", self, mode, filepath.Join(work, rawReport), filepath.Join(work, mode))
	if err != nil {
		return m, 0, fmt.Errorf("raw write %s: %w", mode, err)
	}
	var n int
	fmt.Sscan(strings.TrimSpace(outp), &n)
	return m, n, nil
}

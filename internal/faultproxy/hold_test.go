package faultproxy

import (
	"io"
	"net/http"
	"testing"
	"time"
)

func TestHoldBody_FirstPartThenTheRestOnRelease(t *testing.T) {
	p, _ := newProxy(t)
	release := make(chan struct{})
	p.Add(Rule{Action: HoldBody(40, release)})
	req, err := http.NewRequest("REPORT", p.URL+"cal/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 40)
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != syncAnswer[:40] {
		t.Fatalf("first part %q, %v", first, err)
	}
	got := make(chan string, 1)
	go func() {
		rest, _ := io.ReadAll(resp.Body)
		got <- string(rest)
	}()
	select {
	case rest := <-got:
		t.Fatalf("the rest came before the release: %q", rest)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if rest := <-got; string(first)+rest != syncAnswer {
		t.Fatalf("after the release the body is %q", string(first)+rest)
	}
}

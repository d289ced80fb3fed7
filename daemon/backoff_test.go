package daemon

import (
	"testing"
	"time"

	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine"
)

func TestPassError_ThrottledItemWriteDrivesBackoff(t *testing.T) {
	throttled := &davclient.Error{Method: "PUT", URL: "http://x/c/a.ics", Status: 429, RetryAfter: 90 * time.Second, Err: davclient.ErrRateLimited}
	err := passError([]*engine.Summary{{Problems: []string{"upload a.ics: 429"}, Throttled: throttled}})
	if engine.RetryAfter(err) != 90*time.Second {
		t.Fatalf("passError = %v, want the throttled PUT's error", err)
	}
	if d := backoff(time.Minute, 1, err); d < 90*time.Second {
		t.Fatalf("backoff %v shorter than Retry-After", d)
	}
	if passError([]*engine.Summary{{Problems: []string{"x"}}}) != nil {
		t.Fatal("a plain item problem is not an account failure")
	}
}

package davclient

import (
	"errors"
	"io"
	"net/http"
	"testing"
)

func TestError_UniqueSchedulingObjectResource_IsUIDInUseNamingHolder(t *testing.T) {
	_, c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `<?xml version="1.0"?><D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:unique-scheduling-object-resource><D:href>/cal/other/x%40y.ics</D:href></C:unique-scheduling-object-resource></D:error>`)
	})
	_, err := c.Create(bg(), Calendar{}, "/cal/work/x.ics", []byte("x"))
	var e *Error
	if !errors.Is(err, ErrUIDInUse) || !errors.Is(err, ErrForbidden) || !errors.As(err, &e) || e.Href != "/cal/other/x@y.ics" {
		t.Fatalf("err = %#v", err)
	}
}

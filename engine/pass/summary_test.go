package pass

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/vdird/vdird/engine/plan"
)

func TestSummary_JSONRoundTrip_KeepsEveryFieldAndTheErrorMessage(t *testing.T) {
	in := &Summary{Account: "a", Calendar: "work", Href: "/c/", Dir: "/d/work", Downloaded: 1, Uploaded: 2,
		DeletedLocal: 3, DeletedRemote: 4, Conflicts: 5, Recorded: 6, Unchanged: true, Strategy: plan.ScopedBoth, Skipped: []string{"x.ics: no UID"},
		Problems: []string{"p"}, Refused: "mass delete", Planned: []plan.Action{{Kind: plan.Upload, Name: "a.ics", Href: "/c/a.ics"}},
		Notes: []string{"new calendar"}, Err: errors.New("boom")}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Summary
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if out.Err == nil || out.Err.Error() != "boom" {
		t.Fatalf("error %v, want boom", out.Err)
	}
	in.Err, out.Err = nil, nil
	if !reflect.DeepEqual(*in, out) {
		t.Fatalf("round trip:\n got %+v\nwant %+v\njson %s", out, *in, data)
	}
}

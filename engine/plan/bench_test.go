package plan

import (
	"fmt"
	"testing"
)

// BenchmarkPlan10k plans a 10,000-item calendar where ~1% changed: 50 local
// edits, 25 remote edits, 10 deletions on each side, 5 new on each side.
func BenchmarkPlan10k(b *testing.B) {
	const n = 10000
	in := Input{Options: Options{Policy: ServerWins}}
	for i := range n {
		id := fmt.Sprintf("item-%05d", i)
		href, name := "/cal/"+id+".ics", id+".ics"
		in.Known = append(in.Known, Known{Href: href, ETag: `"` + id + `"`, Name: name, Hash: "h" + id, UID: id})
		l := Local{Name: name, Hash: "h" + id, UID: id}
		r := Remote{Href: href, ETag: `"` + id + `"`}
		switch {
		case i%200 == 0: // 50 local edits
			l.Hash += "-local"
		case i%400 == 1: // 25 remote edits
			r.ETag, r.Hash, r.UID = `"x"`, "h"+id+"-remote", id
		case i%1000 == 2:
			continue // deleted locally (10)
		case i%1000 == 3:
			in.Local = append(in.Local, l)
			continue // deleted on the server (10)
		}
		in.Local = append(in.Local, l)
		in.Remote = append(in.Remote, r)
	}
	for i := range 5 {
		in.Local = append(in.Local, Local{Name: fmt.Sprintf("new-%d.ics", i), Hash: fmt.Sprint("hn", i), UID: fmt.Sprint("new", i)})
		in.Remote = append(in.Remote, Remote{Href: fmt.Sprintf("/cal/srv-%d.ics", i), ETag: "e", Hash: fmt.Sprint("hs", i), UID: fmt.Sprint("srv", i)})
	}
	res := Plan(in)
	if res.Refused != nil || len(res.Actions) != 105 {
		b.Fatalf("unexpected plan: %d actions, refused %v", len(res.Actions), res.Refused)
	}
	b.ReportAllocs()
	for b.Loop() {
		Plan(in)
	}
}

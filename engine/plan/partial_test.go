package plan

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// TestPlan_Partial_SameActionsAsWholeListing: when the local side is
// unchanged, planning only the hrefs a change listing named (plus every
// known item sharing a UID with what arrived) gives exactly the actions
// planning the whole collection gives, refusals included.
func TestPlan_Partial_SameActionsAsWholeListing(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 2026))
	for round := 0; round < 3000; round++ {
		full := randomSynced(r)
		n := len(full.Known)
		byHref := map[string]Remote{}
		scope := map[string]bool{}
		uidOf := func() string { return fmt.Sprint("u", r.IntN(n)) }
		for i, k := range full.Known {
			full.Local = append(full.Local, Local{Name: k.Name, Hash: k.Hash, UID: k.UID})
			switch x := r.IntN(10); {
			case x < 6: // unchanged on the server
				byHref[k.Href] = Remote{Href: k.Href, ETag: k.ETag}
			case x < 8: // changed: new content, the same content, or another UID
				rm := Remote{Href: k.Href, ETag: fmt.Sprint("e1-", i), Hash: fmt.Sprint("h1-", i), UID: k.UID}
				if r.IntN(4) == 0 {
					rm.Hash = k.Hash
				}
				if r.IntN(8) == 0 {
					rm.UID = uidOf()
				}
				byHref[k.Href] = rm
				scope[k.Href] = true
			default: // deleted on the server
				scope[k.Href] = true
			}
		}
		for j := r.IntN(4); j > 0; j-- { // new on the server, some reusing a UID
			rm := Remote{Href: fmt.Sprintf("/c/new-%d.ics", j), ETag: "en", Hash: fmt.Sprint("hn-", j), UID: fmt.Sprint("un", j)}
			if r.IntN(3) == 0 {
				rm.UID = uidOf()
			}
			byHref[rm.Href] = rm
			scope[rm.Href] = true
		}
		for _, rm := range byHref {
			full.Remote = append(full.Remote, rm)
		}

		// What the engine gives the planner after a delta: the named hrefs
		// and every known item sharing a UID with data that arrived.
		uids := map[string]bool{}
		for h := range scope {
			if rm, ok := byHref[h]; ok && rm.UID != "" {
				uids[rm.UID] = true
			}
		}
		part := Input{Options: full.Options, Partial: n}
		for i, k := range full.Known {
			if !scope[k.Href] && !uids[k.UID] {
				continue
			}
			part.Known = append(part.Known, k)
			part.Local = append(part.Local, full.Local[i])
			if rm, ok := byHref[k.Href]; ok {
				part.Remote = append(part.Remote, rm)
			}
		}
		for h := range scope {
			if rm, ok := byHref[h]; ok && !slices.ContainsFunc(part.Remote, func(rm Remote) bool { return rm.Href == h }) {
				part.Remote = append(part.Remote, rm)
			}
		}

		samePlan(t, round, full, part)
	}
}

// randomSynced is an Input with a random policy, read-only one time in
// ten, and 1 to 30 Known items in sync, listed on neither side yet.
func randomSynced(r *rand.Rand) Input {
	n := 1 + r.IntN(30)
	var in Input
	in.Options.Policy = []Policy{ServerWins, LocalWins, KeepBoth}[r.IntN(3)]
	in.Options.ReadOnly = r.IntN(10) == 0
	for i := 0; i < n; i++ {
		in.Known = append(in.Known, Known{Href: fmt.Sprintf("/c/%d.ics", i), ETag: fmt.Sprint("e0-", i), Name: fmt.Sprintf("%d.ics", i), Hash: fmt.Sprint("h0-", i), UID: fmt.Sprint("u", i)})
	}
	return in
}

// samePlan fails the test unless planning part gives what planning full
// gives.
func samePlan(t *testing.T, round int, full, part Input) {
	t.Helper()
	want, got := Plan(full), Plan(part)
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("round %d:\nwhole:   %+v\npartial: %+v\nwhole input %+v\npartial input %+v", round, want, got, full, part)
	}
}

// TestPlan_PartialLocal_SameActionsAsWholeListing: with the server
// unchanged and no file deleted, planning only the files whose fingerprint
// moved and the new ones (plus every known item sharing a UID with them)
// gives exactly the actions planning everything gives.
func TestPlan_PartialLocal_SameActionsAsWholeListing(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 2026))
	for round := 0; round < 3000; round++ {
		full := randomSynced(r)
		n := len(full.Known)
		scope := map[string]bool{} // local names
		for i, k := range full.Known {
			full.Remote = append(full.Remote, Remote{Href: k.Href, ETag: k.ETag})
			l := Local{Name: k.Name, Hash: k.Hash, UID: k.UID}
			switch x := r.IntN(10); {
			case x < 7: // as recorded
			case x < 9: // fingerprint moved: new content, same content, another UID, or invalid
				scope[l.Name] = true
				switch r.IntN(4) {
				case 0:
				case 1:
					l.Hash = fmt.Sprint("h1-", i)
				case 2:
					l.Hash, l.UID = fmt.Sprint("h1-", i), fmt.Sprint("u", r.IntN(n))
				default:
					l.Hash, l.UID, l.Invalid = fmt.Sprint("h1-", i), "", "no UID"
				}
			default:
				scope[l.Name] = true
				l.Hash = fmt.Sprint("h1-", i)
			}
			full.Local = append(full.Local, l)
		}
		for j := r.IntN(4); j > 0; j-- { // new files, some reusing a UID
			l := Local{Name: fmt.Sprintf("new-%d.ics", j), Hash: fmt.Sprint("hn-", j), UID: fmt.Sprint("un", j)}
			if r.IntN(3) == 0 {
				l.UID = fmt.Sprint("u", r.IntN(n))
			}
			full.Local = append(full.Local, l)
			scope[l.Name] = true
		}

		uids := map[string]bool{}
		for _, l := range full.Local {
			if scope[l.Name] && l.UID != "" {
				uids[l.UID] = true
			}
		}
		part := Input{Options: full.Options, Partial: n}
		inPart := map[string]bool{}
		for _, k := range full.Known {
			if scope[k.Name] || uids[k.UID] {
				part.Known = append(part.Known, k)
				part.Remote = append(part.Remote, Remote{Href: k.Href, ETag: k.ETag})
				inPart[k.Name] = true
			}
		}
		for _, l := range full.Local {
			if scope[l.Name] || inPart[l.Name] {
				part.Local = append(part.Local, l)
			}
		}
		samePlan(t, round, full, part)
	}
}

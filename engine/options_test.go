package engine

import (
	"testing"

	"github.com/vdird/vdird/config"
	"github.com/vdird/vdird/engine/plan"
)

// max_delete_min = 0 in the config must mean "guard every calendar", not
// the planner's default of 5.
func TestPlanOptions_MaxDeleteMinZero_GuardsEveryCalendar(t *testing.T) {
	cfg := &config.Config{MaxDeleteFraction: 0.5, MaxDeleteMin: 0}
	a := &config.Account{ConflictPolicy: plan.ServerWins}
	in := plan.Input{
		Options: planOptions(cfg, a, SyncOptions{}),
		Known: []plan.Known{{Href: "/c/a.ics", ETag: "1", Name: "a.ics", Hash: "ha", UID: "a"},
			{Href: "/c/b.ics", ETag: "1", Name: "b.ics", Hash: "hb", UID: "b"},
			{Href: "/c/c.ics", ETag: "1", Name: "c.ics", Hash: "hc", UID: "c"}},
		Local:  []plan.Local{{Name: "c.ics", Hash: "hc", UID: "c"}},
		Remote: []plan.Remote{{Href: "/c/a.ics", ETag: "1"}, {Href: "/c/b.ics", ETag: "1"}, {Href: "/c/c.ics", ETag: "1"}},
	}
	if res := plan.Plan(in); res.Refused == nil {
		t.Fatalf("2 of 3 deleted with max_delete_min = 0: not refused: %v", res.Actions)
	}
	cfg.MaxDeleteMin = plan.DefaultMaxDeleteMin
	in.Options = planOptions(cfg, a, SyncOptions{})
	if res := plan.Plan(in); res.Refused != nil {
		t.Fatalf("2 of 3 deleted with max_delete_min = 5: refused: %s", res.Refused.Reason)
	}
}

package plan

import (
	"slices"
	"strings"
)

// RefusedCreate is a create the server refused because the item's UID
// already lives at another href of the account (servers such as Cyrus keep
// UIDs unique across all of a user's calendars).
type RefusedCreate struct {
	UID    string
	Holder string // the href the server named as holding the UID; "" if none
}

// AccountRecords is what state records for an account once each of its
// calendars had its turn in an account pass.
type AccountRecords struct {
	Calendars []string        // hrefs of the account's calendars in state
	Hrefs     map[string]bool // recorded item hrefs (at least the holders asked about)
	UIDs      map[string]bool // recorded item UIDs (at least those asked about)
}

// RetryRefused tells, for each refused create, whether to send it once more
// at the end of the account pass. An item moved from one calendar to
// another is created in its new calendar and deleted from its old one, in
// calendar order, so the create may come first and be refused; once the
// delete is done the create is accepted. A create is therefore sent again
// when its holder lies in one of the account's calendars and is no longer
// recorded (this pass deleted it), or, when the server named no holder, when
// no recorded item carries the UID. Otherwise the refusal stands.
func RetryRefused(refused []RefusedCreate, rec AccountRecords) []bool {
	out := make([]bool, len(refused))
	for i, r := range refused {
		if r.Holder == "" {
			out[i] = !rec.UIDs[r.UID]
			continue
		}
		inAccount := slices.ContainsFunc(rec.Calendars, func(cal string) bool { return strings.HasPrefix(r.Holder, cal) })
		out[i] = inAccount && !rec.Hrefs[r.Holder]
	}
	return out
}

package conflicts

import (
	"bytes"
	"strings"

	ical "github.com/emersion/go-ical"
	govcard "github.com/emersion/go-vcard"

	"github.com/vdird/vdird/engine/merge"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/vcard"
	"github.com/vdird/vdird/vdir"
)

// itemKind is what differs between a calendar's items and an address
// book's here: how two versions merge, how a copy gets a new UID, and what
// names an item for the user.
type itemKind struct {
	ext        string
	merge      func(base, local, remote []byte, policy merge.Policy) (merge.Result, error)
	uid        func(data []byte) (string, error)
	replaceUID func(data []byte, uid string) []byte
	summary    func(data []byte) string
}

var (
	events = &itemKind{ext: vdir.ICS, merge: merge.ICal, replaceUID: ics.ReplaceUID, summary: eventSummary,
		uid: func(data []byte) (string, error) {
			info, err := ics.Inspect(data)
			return info.UID, err
		}}
	cards = &itemKind{ext: vdir.VCF, merge: merge.VCard, replaceUID: vcard.ReplaceUID, summary: cardName,
		uid: func(data []byte) (string, error) {
			info, err := vcard.Inspect(data)
			return info.UID, err
		}}
)

// kindOf is the kind of the item file name: a vCard for ".vcf", else an
// iCalendar object.
func kindOf(name string) *itemKind {
	if strings.HasSuffix(name, vdir.VCF) {
		return cards
	}
	return events
}

// eventSummary is the SUMMARY of an item's first component that has one.
func eventSummary(data []byte) string {
	if len(data) == 0 {
		return ""
	}
	cal, err := ical.NewDecoder(bytes.NewReader(data)).Decode()
	if err != nil {
		return ""
	}
	for _, c := range cal.Children {
		if p := c.Props.Get(ical.PropSummary); p != nil {
			if s, err := p.Text(); err == nil {
				return s
			}
			return p.Value
		}
	}
	return ""
}

// cardName is the FN of a vCard.
func cardName(data []byte) string {
	if len(data) == 0 {
		return ""
	}
	card, err := govcard.NewDecoder(bytes.NewReader(data)).Decode()
	if err != nil {
		return ""
	}
	return card.Value(govcard.FieldFormattedName)
}

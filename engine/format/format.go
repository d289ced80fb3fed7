// Package format is what the engine knows of the items of each kind of
// collection: their file extension, how one item is validated and its UID
// read, whether two versions hold the same content (and a key of it), how
// a copy gets a new UID, and how two versions changed on both sides merge
// against their base. Calendars hold iCalendar objects (package ics),
// address books vCards (package vcard). Item bytes are never re-encoded.
package format

import (
	"github.com/vdird/vdird/davclient"
	"github.com/vdird/vdird/engine/merge"
	"github.com/vdird/vdird/internal/ics"
	"github.com/vdird/vdird/internal/vcard"
	"github.com/vdird/vdird/vdir"
)

// Info is what the engine reads from one item.
type Info struct {
	UID       string
	Component string // the calendar component ("VEVENT", "VTODO", ...); "" for a vCard
}

// Format is one kind of item.
type Format struct {
	Kind davclient.Kind
	Ext  string // the item files' extension (vdir.ICS, vdir.VCF)
	Noun string // the collection in messages: "calendar", "address book"

	inspect    func([]byte) (Info, error)
	equivalent func(a, b []byte) bool
	contentKey func([]byte) string
	replaceUID func(data []byte, uid string) []byte
	merge      func(base, local, remote []byte, policy merge.Policy) (merge.Result, error)
}

// The two formats.
var (
	ICalendar = &Format{Kind: davclient.KindCalendar, Ext: vdir.ICS, Noun: "calendar",
		inspect: func(b []byte) (Info, error) {
			info, err := ics.Inspect(b)
			return Info{UID: info.UID, Component: info.Component}, err
		},
		equivalent: ics.Equivalent, contentKey: ics.ContentKey, replaceUID: ics.ReplaceUID, merge: merge.ICal}
	VCard = &Format{Kind: davclient.KindAddressBook, Ext: vdir.VCF, Noun: "address book",
		inspect: func(b []byte) (Info, error) {
			info, err := vcard.Inspect(b)
			return Info{UID: info.UID}, err
		},
		equivalent: vcard.Equivalent, contentKey: vcard.ContentKey, replaceUID: vcard.ReplaceUID, merge: merge.VCard}
)

// Of is the format of the items of a collection of kind k.
func Of(k davclient.Kind) *Format {
	if k == davclient.KindAddressBook {
		return VCard
	}
	return ICalendar
}

// Inspect validates data as one item and reads its UID.
func (f *Format) Inspect(data []byte) (Info, error) { return f.inspect(data) }

// Equivalent tells whether a and b hold the same item, whatever their
// layout (line folding and endings, the order of properties), so that a
// server's re-serialisation of what vdird sent, or an editor's rewrite of
// line endings, is not taken for an edit.
func (f *Format) Equivalent(a, b []byte) bool { return f.equivalent(a, b) }

// ContentKey is a digest of data's content as Equivalent sees it: two
// items have the same key exactly when they are equivalent, so the
// planner can compare content from keys alone.
func (f *Format) ContentKey(data []byte) string { return f.contentKey(data) }

// ReplaceUID returns data with its UID set to uid, every other byte kept.
func (f *Format) ReplaceUID(data []byte, uid string) []byte { return f.replaceUID(data, uid) }

// Merge merges the local and the remote version of an item against base,
// their last synced version: merge.ICal for calendars, merge.VCard for
// address books.
func (f *Format) Merge(base, local, remote []byte, policy merge.Policy) (merge.Result, error) {
	return f.merge(base, local, remote, policy)
}

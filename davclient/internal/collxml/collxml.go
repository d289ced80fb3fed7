// Package collxml is the XML of CalDAV and CardDAV collections that
// package davclient writes and reads: the bodies that make a calendar or
// an address book, and the values of their properties.
package collxml

import (
	"encoding/xml"
	"slices"
	"strings"

	"github.com/vdird/vdird/davclient/webdav"
)

// NSCalDAV is CalDAV's namespace (RFC 4791).
const NSCalDAV = "urn:ietf:params:xml:ns:caldav"

// The request bodies of MKCALENDAR (RFC 4791 §5.3.1.2) and extended MKCOL
// (RFC 5689 §5.1), encoded by encoding/xml.
type (
	mkCalendar struct {
		XMLName xml.Name `xml:"urn:ietf:params:xml:ns:caldav mkcalendar"`
		Set     mkSet    `xml:"DAV: set"`
	}
	mkCol struct {
		XMLName xml.Name `xml:"DAV: mkcol"`
		Set     mkSet    `xml:"DAV: set"`
	}
	mkSet struct {
		Prop mkProp `xml:"DAV: prop"`
	}
	mkProp struct {
		ResourceType *mkResourceType `xml:"DAV: resourcetype,omitempty"`
		DisplayName  string          `xml:"DAV: displayname,omitempty"`
		Color        string          `xml:"http://apple.com/ns/ical/ calendar-color,omitempty"`
		CalendarDesc string          `xml:"urn:ietf:params:xml:ns:caldav calendar-description,omitempty"`
		BookDesc     string          `xml:"urn:ietf:params:xml:ns:carddav addressbook-description,omitempty"`
		Components   *mkComponents   `xml:"urn:ietf:params:xml:ns:caldav supported-calendar-component-set,omitempty"`
	}
	mkResourceType struct {
		Collection  struct{} `xml:"DAV: collection"`
		AddressBook struct{} `xml:"urn:ietf:params:xml:ns:carddav addressbook"`
	}
	mkComponents struct {
		Comp []mkComp `xml:"urn:ietf:params:xml:ns:caldav comp"`
	}
	mkComp struct {
		Name string `xml:"name,attr"`
	}
)

// Props are the properties a new collection is made with; an empty value
// is not sent.
type Props struct {
	DisplayName, Color, Description string
	Components                      []string // a calendar's supported components
}

// MakeBody is the method and body that make an address book (extended
// MKCOL) or a calendar (MKCALENDAR) with the properties n. A colour and
// components are a calendar's only.
func MakeBody(addressBook bool, n Props) (method string, body []byte, err error) {
	var doc any
	if addressBook {
		method = "MKCOL"
		doc = mkCol{Set: mkSet{Prop: mkProp{ResourceType: &mkResourceType{}, DisplayName: n.DisplayName, BookDesc: n.Description}}}
	} else {
		method = "MKCALENDAR"
		p := mkProp{DisplayName: n.DisplayName, Color: n.Color, CalendarDesc: n.Description}
		if len(n.Components) > 0 {
			p.Components = &mkComponents{}
			for _, c := range n.Components {
				p.Components.Comp = append(p.Components.Comp, mkComp{Name: c})
			}
		}
		doc = mkCalendar{Set: mkSet{Prop: p}}
	}
	out, err := xml.Marshal(doc)
	if err != nil {
		return "", nil, err
	}
	return method, append([]byte(xml.Header), out...), nil
}

// Components reads a supported-calendar-component-set.
func Components(n *webdav.Node) []string {
	out := []string{}
	for _, comp := range n.Children {
		if comp.Name.Space != NSCalDAV || comp.Name.Local != "comp" {
			continue
		}
		for _, a := range comp.Attr {
			if a.Name.Local == "name" && a.Value != "" {
				out = append(out, strings.ToUpper(a.Value))
			}
		}
	}
	return out
}

// VCardVersions reads the text/vcard versions of a supported-address-data
// (RFC 6352 §6.2.2: address-data-type elements whose content-type defaults
// to text/vcard and version to 3.0). Any child element is read, since
// Xandikos names them content-type.
func VCardVersions(n *webdav.Node) []string {
	out := []string{}
	for _, t := range n.Children {
		ct, version := "text/vcard", "3.0"
		for _, a := range t.Attr {
			switch a.Name.Local {
			case "content-type":
				ct = strings.ToLower(strings.TrimSpace(a.Value))
			case "version":
				version = strings.TrimSpace(a.Value)
			}
		}
		if ct == "text/vcard" && !slices.Contains(out, version) {
			out = append(out, version)
		}
	}
	return out
}

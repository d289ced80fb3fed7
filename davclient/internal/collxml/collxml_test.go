package collxml

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestMakeBody_CalendarWithEveryPropertyAndAnAddressBook(t *testing.T) {
	method, body, err := MakeBody(false, Props{DisplayName: "Work & <play>", Color: "#112233", Description: "Jobs", Components: []string{"VEVENT", "VTODO"}})
	if err != nil || method != "MKCALENDAR" {
		t.Fatalf("calendar: %s %v", method, err)
	}
	var cal struct {
		XMLName xml.Name
		Name    string `xml:"set>prop>displayname"`
		Color   string `xml:"set>prop>calendar-color"`
		Desc    string `xml:"set>prop>calendar-description"`
		Names   []struct {
			Name string `xml:"name,attr"`
		} `xml:"set>prop>supported-calendar-component-set>comp"`
	}
	if err := xml.Unmarshal(body, &cal); err != nil {
		t.Fatal(err)
	}
	if cal.XMLName != (xml.Name{Space: NSCalDAV, Local: "mkcalendar"}) || cal.Name != "Work & <play>" || cal.Color != "#112233" ||
		cal.Desc != "Jobs" || len(cal.Names) != 2 || cal.Names[0].Name != "VEVENT" || cal.Names[1].Name != "VTODO" {
		t.Fatalf("calendar body %s read as %+v", body, cal)
	}
	method, body, err = MakeBody(true, Props{DisplayName: "Friends", Color: "#112233"})
	if err != nil || method != "MKCOL" {
		t.Fatalf("address book: %s %v", method, err)
	}
	if !strings.Contains(string(body), `<addressbook xmlns="urn:ietf:params:xml:ns:carddav">`) || !strings.Contains(string(body), `<collection xmlns="DAV:">`) ||
		strings.Contains(string(body), "calendar-color") || strings.Contains(string(body), "addressbook-description") {
		t.Fatalf("address book body %s", body)
	}
}

package vdirsyncer

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// account is one [[account]] of vdird's configuration, with its keys as
// config.example.toml names them.
type account struct {
	Name         string   `toml:"name"`
	URL          string   `toml:"url"`
	Sync         []string `toml:"sync,omitempty"` // none: calendars only
	LocalRoot    string   `toml:"local_root,omitempty"`
	Calendars    []string `toml:"calendars,omitempty"`  // none: every calendar
	Window       []string `toml:"window,omitempty"`     // none: every date
	Components   []string `toml:"components,omitempty"` // none: every item type
	ContactsRoot string   `toml:"contacts_root,omitempty"`
	AddressBooks []string `toml:"addressbooks,omitempty"` // none: every address book
	// CreateCollections is written false for an account one of whose
	// folders vdirsyncer named otherwise than the server: until it is
	// renamed, vdird would make it a second collection on the server.
	CreateCollections *bool `toml:"create_collections,omitempty"`
	conn

	pairs []string        // the vdirsyncer pairs it comes from
	from  map[kind]string // the first pair of each kind of collection
}

// noCreate turns off making new collections from the account's folders.
func (a *account) noCreate() {
	off := false
	a.CreateCollections = &off
}

// set is where acc keeps the collections of kind k: their folder and which
// of them it syncs.
func (a *account) set(k kind) (root *string, names *[]string) {
	if k == addressBookServer {
		return &a.ContactsRoot, &a.AddressBooks
	}
	return &a.LocalRoot, &a.Calendars
}

// setSync fills the sync key: absent for calendars only, as vdird's
// default, else the kinds the account syncs.
func (a *account) setSync() {
	a.Sync = nil
	if a.ContactsRoot != "" {
		if a.LocalRoot != "" {
			a.Sync = append(a.Sync, "calendars")
		}
		a.Sync = append(a.Sync, "addressbooks")
	}
}

// conn is how an account reaches its server and settles conflicts: two
// pairs sharing a folder make one account only when these are equal.
type conn struct {
	Username                 string `toml:"username,omitempty"`
	PasswordCommand          string `toml:"password_command,omitempty"`
	PasswordEnv              string `toml:"password_env,omitempty"`
	ConflictPolicy           string `toml:"conflict_policy,omitempty"`
	Auth                     string `toml:"auth,omitempty"`
	InsecureSkipVerify       bool   `toml:"insecure_skip_verify,omitempty"`
	CAFile                   string `toml:"ca_file,omitempty"`
	CertFile                 string `toml:"cert_file,omitempty"`
	KeyFile                  string `toml:"key_file,omitempty"`
	TLSFingerprint           string `toml:"tls_fingerprint,omitempty"`
	OAuthClientID            string `toml:"oauth_client_id,omitempty"`
	OAuthClientSecret        string `toml:"oauth_client_secret,omitempty"`
	OAuthClientSecretCommand string `toml:"oauth_client_secret_command,omitempty"`
}

// origin is a URL's scheme and host, in lower case.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// render writes the accounts as vdird's TOML configuration, each after a
// comment naming its pairs.
func render(source string, accts []*account) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `# vdird's configuration, made by "vdird import vdirsyncer" from
# %s.
# config.example.toml describes every key. Stop vdirsyncer (its timer or
# cron job) before the first vdird sync: two tools must not sync one folder.
`, comment(source))
	for _, a := range accts {
		pairs := make([]string, len(a.pairs))
		for i, p := range a.pairs {
			pairs[i] = "[pair " + comment(p) + "]"
		}
		fmt.Fprintf(&b, "\n# From %s.\n", strings.Join(pairs, " and "))
		a.setSync()
		enc := toml.NewEncoder(&b)
		enc.Indent = ""
		if err := enc.Encode(struct {
			Account []*account `toml:"account"`
		}{[]*account{a}}); err != nil {
			// Strings, lists of strings and a bool always encode.
			panic(fmt.Sprintf("vdirsyncer: encoding an account: %v", err))
		}
	}
	return b.Bytes()
}

// comment makes s fit on a comment line: quoted when it holds anything
// but printable characters.
func comment(s string) string {
	if strings.IndexFunc(s, notPrintable) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

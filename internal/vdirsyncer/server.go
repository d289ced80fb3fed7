package vdirsyncer

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

// googleURL is Google's CalDAV root, which vdirsyncer's google_calendar
// storage reaches.
const googleURL = "https://apidata.googleusercontent.com/caldav/v2/"

// server reads a caldav, google_calendar or carddav storage (k is which
// kind) into acc: the URL, the credentials and the TLS settings.
func (r *reader) server(acc *account, k kind) *failure {
	r.take("type")
	var fail *failure
	if r.s.Values["type"] == "google_calendar" {
		fail = r.google(acc)
	} else {
		fail = r.url(acc)
		r.credentials(acc)
	}
	if fail != nil {
		return fail
	}
	if r.truthy("read_only") {
		return r.fail("read_only", "true: vdird writes local changes to the server; a read-only storage is not converted")
	}
	r.tls(acc)
	if a, ok := r.literal("auth"); ok {
		switch a {
		case "basic", "digest":
			acc.Auth = a
		case "guess":
		default:
			r.note("auth", "not converted: %q: vdird's auth is basic, digest or auto (the default, for guess)", a)
		}
	}
	r.unsupported("useragent", "vdird sends its own User-Agent")
	if k == calendarServer {
		r.window(acc) // start_date, end_date and item_types are caldav's only
	}
	return nil
}

// unsupported notes key, when it is set to something, as not converted.
func (r *reader) unsupported(key, why string) {
	v, ok := r.take(key)
	_, fetched := r.take(key + ".fetch")
	if ok && v != nil && !isEmptyList(v) || fetched {
		r.note(key, "not converted: %s", why)
	}
}

func isEmptyList(v any) bool {
	l, ok := v.([]any)
	return ok && len(l) == 0
}

// url reads the server's URL: http:// or https://.
func (r *reader) url(acc *account) *failure {
	v, fetch, _, fail := r.get("url")
	switch {
	case fail != nil:
		return fail
	case fetch != nil:
		return r.fail("url.fetch", "vdird takes the URL from its config, not from a command")
	}
	s, _ := v.(string)
	u, err := url.Parse(s)
	switch {
	case s == "":
		return r.fail("url", "missing")
	case err != nil || u.Host == "" || !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https"):
		return r.fail("url", fmt.Sprintf("%q: want an http:// or https:// URL", s))
	}
	acc.URL = strings.ToLower(u.Scheme) + s[len(u.Scheme):]
	return nil
}

// credentials reads the username and the password.
func (r *reader) credentials(acc *account) {
	acc.Username, _ = r.literal("username")
	v, fetch, _, fail := r.get("password")
	switch {
	case fail != nil:
		r.notes = append(r.notes, Note(*fail))
	case fetch != nil:
		cmd, env, why := fetchCommand(fetch)
		if why != "" {
			r.note("password.fetch", "not converted: %s", why)
		}
		acc.PasswordCommand, acc.PasswordEnv = cmd, env
	case v != nil && v != "":
		r.note("password", "not converted: vdird keeps no password in its config; put it in a file only you can read and set password_file, or set password_command or password_env")
	}
}

// google reads a google_calendar storage: vdird's own OAuth2 for Google
// takes the same client.
func (r *reader) google(acc *account) *failure {
	acc.URL = googleURL
	if u, ok := r.literal("url"); ok && u != googleURL {
		r.note("url", "not converted: vdird reaches Google Calendar at %s", googleURL)
	}
	id, _ := r.literal("client_id")
	if id == "" {
		return r.fail("client_id", "missing: vdird signs in to Google with your OAuth client")
	}
	acc.OAuthClientID = id
	v, fetch, _, fail := r.get("client_secret")
	switch {
	case fail != nil:
		return fail
	case fetch != nil:
		cmd, env, why := fetchCommand(fetch)
		if env != "" {
			cmd = "printenv " + shellQuote(env)
		}
		if why != "" {
			r.note("client_secret.fetch", "not converted: %s", why)
		}
		acc.OAuthClientSecretCommand = cmd
	default:
		acc.OAuthClientSecret, _ = v.(string)
	}
	r.take("token_file")
	r.note("token_file", "not converted: vdird keeps a token of its own; run vdird authorize with this account's name once")
	return nil
}

// tls reads verify, verify_fingerprint and auth_cert.
func (r *reader) tls(acc *account) {
	verify, fp := r.plain("verify"), r.plain("verify_fingerprint")
	_, pinFetched := r.s.Values["verify_fingerprint.fetch"]
	switch v := verify.(type) {
	case nil, bool:
		// false without a fingerprint turns verification off, as older
		// vdirsyncer versions did; with one, the pin replaces it, and a
		// pin not converted leaves verification on.
		acc.InsecureSkipVerify = v == false && fp == nil && !pinFetched
	case string:
		if p, why := configPath(v); why != "" {
			r.note("verify", "not converted: %s", why)
		} else {
			acc.CAFile = p
		}
	default:
		r.note("verify", "not converted: %s: want the path of a PEM file of CA certificates", show(v))
	}
	if fp != nil {
		acc.TLSFingerprint = r.fingerprint(fp)
	}
	cert := r.plain("auth_cert")
	files, isList := stringList(cert)
	if s, ok := cert.(string); ok {
		files, isList = []string{s, s}, true // the certificate and its key in one file
	}
	switch {
	case cert == nil:
	case !isList || len(files) != 2:
		r.note("auth_cert", "not converted: %s: want a file holding the certificate and its key, or a list of the two", show(cert))
	default:
		c, why1 := configPath(files[0])
		k, why2 := configPath(files[1])
		if why := why1 + why2; why != "" {
			r.note("auth_cert", "not converted: %s", why)
			return
		}
		acc.CertFile, acc.KeyFile = c, k
	}
}

// fingerprint reads verify_fingerprint, hex digits with or without colons.
// vdird pins the SHA-256 of the certificate; vdirsyncer once took SHA-1
// and MD5 ones too.
func (r *reader) fingerprint(v any) string {
	s, _ := v.(string)
	b, err := hex.DecodeString(strings.NewReplacer(":", "", " ", "").Replace(s))
	algo := map[int]string{20: "a SHA-1", 16: "an MD5"}[len(b)]
	switch {
	case err != nil || s == "" || len(b) != 32 && algo == "":
		r.note("verify_fingerprint", "not converted: %s is no certificate fingerprint", show(v))
	case algo != "":
		r.note("verify_fingerprint", "not converted: %s fingerprint; vdird pins the SHA-256 of the certificate: set tls_fingerprint to what `openssl x509 -noout -fingerprint -sha256` prints for it", algo)
	default:
		pairs := make([]string, len(b))
		for i, x := range b {
			pairs[i] = fmt.Sprintf("%02X", x)
		}
		return "sha256:" + strings.Join(pairs, ":")
	}
	return ""
}

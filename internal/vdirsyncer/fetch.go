package vdirsyncer

import (
	"fmt"
	"os"
	"os/user"
	"path"
	"regexp"
	"strings"
)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// fetchCommand turns a vdirsyncer fetch list into the shell command vdird
// runs for the value (password_command), or the environment variable it
// reads: ["command", "pass", "dav"] is `pass dav`, ["shell", "pass dav |
// head -1"] that line, ["command", "printenv", "DAV_PW"] the variable
// DAV_PW. vdirsyncer expands ~ in, and normalises as a path, each
// argument; the command does the same. why says what cannot be converted.
func fetchCommand(list []any) (cmd, env, why string) {
	args, ok := stringList(list[1:])
	if !ok || len(args) == 0 {
		args = nil
	}
	switch list[0] {
	case "command":
		if args == nil {
			return "", "", fmt.Sprintf("%s: want a command and its arguments", show(list))
		}
		if len(args) == 2 && args[0] == "printenv" && envName.MatchString(args[1]) {
			return "", args[1], ""
		}
		return quoteArgs(args), "", ""
	case "shell":
		switch len(args) {
		case 0:
			return "", "", fmt.Sprintf("%s: want a shell command line", show(list))
		case 1:
			return expandPath(args[0]), "", ""
		}
		// More arguments become the shell's $0, $1, … as in Python's
		// subprocess with shell=True.
		return "/bin/sh -c " + quoteArgs(args), "", ""
	case "prompt":
		return "", "", "a prompt: vdird syncs unattended and asks for nothing; give a command that prints it"
	}
	return "", "", fmt.Sprintf("%s: unknown fetch strategy %s", show(list), show(list[0]))
}

// quoteArgs expands and quotes args into a command line for /bin/sh.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(expandPath(a))
	}
	return strings.Join(q, " ")
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`)

// shellQuote quotes s as one word for a POSIX shell.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// expandPath is vdirsyncer's expand_path: Python's os.path.expanduser,
// then os.path.normpath.
func expandPath(p string) string {
	return normPath(expandUser(p))
}

// expandUser replaces a leading ~ or ~user by that home directory, as
// Python's os.path.expanduser does; p stays as it is when there is none.
func expandUser(p string) string {
	if !strings.HasPrefix(p, "~") {
		return p
	}
	name := p[1:]
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name = name[:i]
	}
	home := ""
	if name == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return p
		}
		home = h
	} else {
		u, err := user.Lookup(name)
		if err != nil {
			return p
		}
		home = u.HomeDir
	}
	if out := strings.TrimRight(home, "/") + p[1+len(name):]; out != "" {
		return out
	}
	return "/"
}

// normPath is Python's posixpath.normpath: path.Clean, except that
// exactly two leading slashes stay.
func normPath(p string) string {
	c := path.Clean(p)
	if strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "///") {
		return "/" + c
	}
	return c
}

// configPath turns a path of vdirsyncer's config into one for vdird's:
// "~/x" stays (vdird expands it too), ~user is expanded, a relative path
// is refused, since vdirsyncer takes it from the directory it runs in.
func configPath(p string) (string, string) {
	switch {
	case p == "":
		return "", "an empty path"
	case p == "~" || strings.HasPrefix(p, "~/"):
		if c := path.Clean("/" + p[1:]); c != "/" {
			return "~" + c, ""
		}
		return "~", ""
	case strings.HasPrefix(p, "~"):
		if e := expandUser(p); !strings.HasPrefix(e, "~") {
			return normPath(e), ""
		}
		return "", fmt.Sprintf("%q: no such user", p)
	case !path.IsAbs(p):
		return "", fmt.Sprintf("%q is relative, to the directory vdirsyncer runs in: write it as an absolute path", p)
	}
	return normPath(p), ""
}

#!/usr/bin/env bash
# Follows README.md as a newcomer would: runs its shell blocks marked with a
# "<!-- readme-check -->" line, in order, in one shell with a scratch HOME,
# and fails if a step fails or ends elsewhere than the README says. A block
# marked "<!-- readme-check: FILE -->" is written to FILE instead.
#
# What stands in for the outside world:
# - the README's server (https://dav.example.org/, user alice, password from
#   `pass show dav.example.org`) is a local Radicale holding the calendars
#   Work (events) and Tasks (tasks) and the address book contacts: its URL replaces the README's in the
#   commands, $EDITOR makes the config edit the README asks for, and a
#   `pass` on the PATH prints the password;
# - systemctl and loginctl: the real ones would act on the user manager of
#   the real home, not the scratch one. The stand-in checks the unit with
#   `systemd-analyze --user verify`, runs its ExecStart as systemd would and
#   waits until the daemon is ready; stopping sends SIGTERM and expects
#   exit 0.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

for tool in radicale curl khal todoman khard systemd-analyze go; do
	command -v "$tool" >/dev/null || { echo "readme-check: $tool is missing (scripts/test.sh installs it)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/vdird-readme.XXXXXX)
home=$work/home
mkdir -p "$home" "$work/stubs" "$work/blocks" "$work/service" "$work/run"
chmod 700 "$work/run"
finish() {
	local code=$?
	[ -f "$work/service/vdird.pid" ] && kill "$(cat "$work/service/vdird.pid")" 2>/dev/null || true
	[ -n "${RADICALE_PID:-}" ] && kill "$RADICALE_PID" 2>/dev/null || true
	if [ "$code" -eq 0 ]; then rm -rf "$work"; else echo "readme-check: FAILED; files kept in $work" >&2; fi
}
trap finish EXIT

. scripts/lib/radicale.sh
password=readme-check-password
radicale_start "$work" alice "$password"
radicale_mkcal work Work VEVENT "#3a87adff"
radicale_mkcal tasks Tasks VTODO "#d06b64ff"
radicale_put work/meeting.ics "$(printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//readme-check//EN\r\nBEGIN:VEVENT\r\nUID:meeting@readme-check\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20270110T090000Z\r\nDTEND:20270110T100000Z\r\nSUMMARY:Team meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n')"
radicale_mkbook contacts Contacts
radicale_put contacts/ann.vcf "$(printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ann@readme-check\r\nFN:Ann Example\r\nN:Example;Ann;;;\r\nEND:VCARD\r\n')"
radicale_put tasks/milk.ics "$(printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//readme-check//EN\r\nBEGIN:VTODO\r\nUID:milk@readme-check\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Buy milk\r\nSTATUS:NEEDS-ACTION\r\nEND:VTODO\r\nEND:VCALENDAR\r\n')"

# The marked blocks, numbered in README order: NN.sh to run, NN.file with
# its destination in NN.target.
awk -v dir="$work/blocks" '
	/^<!-- readme-check(: [^ ]+)? -->$/ {
		marked = 1; target = $0
		sub(/^<!-- readme-check:? ?/, "", target); sub(/ ?-->$/, "", target)
		next
	}
	marked && /^```/ {
		n++; name = sprintf("%s/%02d", dir, n)
		out = name (target == "" ? ".sh" : ".file")
		if (target != "") print target > (name ".target")
		marked = 0; inblock = 1; next
	}
	inblock && /^```$/ { inblock = 0; close(out); next }
	inblock { print > out; next }
	marked && NF { printf "README.md:%d: a readme-check marker must be followed by a fenced block\n", NR > "/dev/stderr"; exit 1 }
' README.md
ls "$work"/blocks/*.sh >/dev/null 2>&1 || { echo "readme-check: no marked block in README.md" >&2; exit 1; }

cat >"$work/stubs/pass" <<EOF
#!/bin/sh
# pass show ENTRY: the local Radicale's password.
[ "\$1" = show ] && echo '$password'
EOF
cat >"$work/stubs/editor" <<EOF
#!/bin/sh
# The edit the README asks for: the example server becomes the local Radicale.
sed -i 's|https://dav.example.org/|$RADICALE_URL|' "\$1"
EOF
cat >"$work/stubs/loginctl" <<'EOF'
#!/bin/sh
# loginctl enable-linger|disable-linger USER: lingering is the real user
# manager's business; check only that the README names the user.
case "$1" in enable-linger|disable-linger) [ -n "${2-}" ] && [ "$2" = "$USER" ] && exit 0 ;; esac
echo "loginctl stand-in: not covered: loginctl $*" >&2
exit 1
EOF
sed "s|@SERVICE@|$work/service|" >"$work/stubs/systemctl" <<'EOF'
#!/usr/bin/env bash
# systemctl --user, for the vdird unit, as far as the README uses it.
set -euo pipefail
unit=$HOME/.config/systemd/user/vdird.service
dir=@SERVICE@
start() {
	[ -f "$unit" ] || { echo "Unit vdird.service not found." >&2; exit 5; }
	out=$(systemd-analyze --user verify "$unit" 2>&1) || { echo "$out" >&2; exit 1; }
	[ -z "$out" ] || { echo "systemd-analyze verify: $out" >&2; exit 1; }
	cmd=$(sed -n 's/^ExecStart=//p' "$unit")
	cmd=${cmd//%h/$HOME}
	before=$(grep -c 'first reconcile done' "$dir/vdird.log" 2>/dev/null || true)
	rm -f "$dir/vdird.exit"
	( bash -c 'echo $$ >"$0"; exec "$@"' "$dir/vdird.pid" $cmd >>"$dir/vdird.log" 2>&1
	  echo $? >"$dir/vdird.exit" ) </dev/null >/dev/null 2>&1 &
	for _ in $(seq 300); do
		[ "$(grep -c 'first reconcile done' "$dir/vdird.log" 2>/dev/null || true)" -gt "${before:-0}" ] && return 0
		[ -f "$dir/vdird.exit" ] && break
		sleep 0.1
	done
	echo "vdird did not become ready; its log:" >&2
	cat "$dir/vdird.log" >&2
	exit 1
}
stop() {
	[ -f "$dir/vdird.pid" ] || return 0
	kill -TERM "$(cat "$dir/vdird.pid")" 2>/dev/null || true
	for _ in $(seq 200); do [ -f "$dir/vdird.exit" ] && break; sleep 0.1; done
	code=$(cat "$dir/vdird.exit" 2>/dev/null || echo "none")
	rm -f "$dir/vdird.pid"
	[ "$code" = 0 ] || { echo "vdird daemon: exit status $code after SIGTERM, want 0" >&2; exit 1; }
}
running() { [ -f "$dir/vdird.pid" ] && kill -0 "$(cat "$dir/vdird.pid")" 2>/dev/null; }
[ "${1-}" = --user ] || { echo "systemctl stand-in: only --user is covered" >&2; exit 1; }
shift
case "$*" in
daemon-reload) ;;
"enable --now vdird" | "start vdird") running || start ;;
"disable --now vdird" | "stop vdird") stop ;;
"restart vdird") stop; start ;;
"reload vdird") running && kill -HUP "$(cat "$dir/vdird.pid")" ;;
"status vdird")
	running || { echo "vdird.service: inactive (dead)"; exit 3; }
	echo "vdird.service: active (running), pid $(cat "$dir/vdird.pid")"
	tail -n 3 "$dir/vdird.log" ;;
*) echo "systemctl stand-in: not covered: systemctl --user $*" >&2; exit 1 ;;
esac
EOF
chmod +x "$work/stubs"/*

# One script, run in one shell as a reader would type it.
{
	echo 'set -euo pipefail'
	echo 'place() { local t=${1/#\~/$HOME}; mkdir -p "$(dirname "$t")"; cp "$2" "$t"; }'
	for b in "$work"/blocks/*; do
		n=$(basename "$b"); n=${n%%.*}
		case "$b" in
		*.sh)
			echo "echo '==> README block $n'"
			echo 'set -x'
			sed "s|https://dav.example.org/|$RADICALE_URL|g" "$b"
			echo 'set +x' ;;
		*.file) echo "place '$(cat "$work/blocks/$n.target")' '$b'" ;;
		esac
	done
} >"$work/readme.sh"

goenv=()
for v in GOCACHE GOMODCACHE GOFLAGS GOPROXY GOSUMDB GONOSUMDB GOPRIVATE GOTOOLCHAIN; do
	goenv+=("$v=$(go env "$v")")
done
echo "==> running the README's steps with HOME=$home"
env -i HOME="$home" USER="$(id -un)" LOGNAME="$(id -un)" LANG=C.UTF-8 TERM=dumb \
	PATH="$work/stubs:$(dirname "$(command -v go)"):/usr/local/bin:/usr/bin:/bin" \
	XDG_RUNTIME_DIR="$work/run" EDITOR="$work/stubs/editor" "${goenv[@]}" \
	bash --noprofile --norc "$work/readme.sh" 2>&1 | tee "$work/readme.log"

# What the README promises, beyond every step succeeding.
output() { # the output of the block whose text matches $1
	local b n
	b=$(grep -l -- "$1" "$work"/blocks/*.sh | head -n 1)
	n=$(basename "$b" .sh)
	awk -v n="$n" '/^==> README block / { on = ($4 == n) } on' "$work/readme.log"
}
fail() { echo "readme-check: $*" >&2; exit 1; }
first=$(output 'cp config.example.toml')
grep -Eq '/work +↓1 ↑0 ✗0 ⚠0' <<<"$first" && grep -Eq '/tasks +↓1 ↑0 ✗0 ⚠0' <<<"$first" ||
	fail "the first sync did not download one item per calendar"
grep -q 'Work' <<<"$(output 'khal printcalendars')" || fail "khal does not list the calendar Work by its display name"
grep -q 'Buy milk' <<<"$(output 'todoman list')" || fail "todoman does not list the task of Tasks"
again=$(output 'rm ~/.local/state/vdird/state.db')
grep -Eq '/work +↓0 ↑0 ✗0 ⚠0' <<<"$again" && grep -Eq '/tasks +↓0 ↑0 ✗0 ⚠0' <<<"$again" ||
	fail "the sync after deleting the state file copied items instead of matching them by UID"
[ ! -e "$home/.local/bin/vdird" ] || fail "the uninstall steps left ~/.local/bin/vdird"
echo "==> readme-check: every marked README step worked"

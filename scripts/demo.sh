#!/usr/bin/env bash
# The demo: a local Radicale with two sample calendars (events and tasks) and
# an address book on loopback, and vdird syncing them into folders, both ways;
# khard reads the synced contacts. Everything lives in
# one temp directory that is printed at the end (kept so you can look around).
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
install_pkgs() {
	local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
need radicale || { echo "==> installing radicale (Debian package)"; install_pkgs radicale; }
need khard || { echo "==> installing khard (Debian package)"; install_pkgs khard; }
need curl || install_pkgs curl

work=$(mktemp -d /tmp/vdird-demo.XXXXXX)
echo "==> building vdird into $work/vdird"
CGO_ENABLED=0 go build -o "$work/vdird" ./cmd/vdird

mkdir -p "$work/calendars" "$work/contacts"
printf 'demo-password\n' > "$work/password"; chmod 600 "$work/password"
. scripts/lib/radicale.sh
radicale_start "$work" demo demo-password
rpid=$RADICALE_PID
trap 'kill $rpid 2>/dev/null || true' EXIT
echo "==> Radicale is running on $RADICALE_URL (storage $work/radicale)"

base="${RADICALE_URL}demo"
dav() { radicale_dav "$@"; }
mkcal() { radicale_mkcal "$@"; }
put() { radicale_put "$@"; }
mkcal work "Work" VEVENT "#3a87adff"
mkcal tasks "Tasks" VTODO "#d06b64ff"
y=$(date +%Y); m=$(date +%m)
for i in 1 2 3; do
	put "work/meeting-$i.ics" "BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//vdird demo//EN
BEGIN:VEVENT
UID:demo-meeting-$i@vdird
DTSTAMP:${y}0101T000000Z
DTSTART:$y${m}1${i}T090000Z
DTEND:$y${m}1${i}T100000Z
SUMMARY:Team meeting $i
END:VEVENT
END:VCALENDAR
"
done
for t in "Buy milk" "Write report"; do
	id=$(echo "$t" | tr 'A-Z ' 'a-z-')
	put "tasks/$id.ics" "BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//vdird demo//EN
BEGIN:VTODO
UID:demo-$id@vdird
DTSTAMP:${y}0101T000000Z
SUMMARY:$t
STATUS:NEEDS-ACTION
END:VTODO
END:VCALENDAR
"
done

mkbook() { radicale_mkbook "$@"; }
mkbook contacts "Contacts"
put contacts/ada.vcf "BEGIN:VCARD
VERSION:3.0
UID:demo-ada@vdird
FN:Ada Lovelace
N:Lovelace;Ada;;;
EMAIL;TYPE=INTERNET:ada@example.org
TEL;TYPE=CELL:+44 20 0000 0001
END:VCARD
"
put contacts/grace.vcf "BEGIN:VCARD
VERSION:4.0
UID:urn:uuid:7c3f4c1e-0000-4000-8000-000000000002
FN:Grace Hopper
N:Hopper;Grace;;;
EMAIL:grace@example.org
END:VCARD
"
put contacts/pioneers.vcf "BEGIN:VCARD
VERSION:3.0
UID:demo-pioneers@vdird
FN:Pioneers
X-ADDRESSBOOKSERVER-KIND:group
X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:demo-ada@vdird
END:VCARD
"

cat > "$work/config.toml" <<CONF
state_path = "$work/state.db"
[[account]]
name = "demo"
url = "$RADICALE_URL"
username = "demo"
password_file = "$work/password"
sync = ["calendars", "addressbooks"]
local_root = "$work/calendars"
contacts_root = "$work/contacts"
CONF
# khard reads the synced address book (one [[name]] per folder).
cat > "$work/khard.conf" <<CONF
[addressbooks]
[[contacts]]
path = $work/contacts/contacts
[general]
default_action = list
CONF
khard() { echo "\$ khard list"; HOME="$work" command khard -c "$work/khard.conf" list; }

v() { echo "\$ vdird $*"; "$work/vdird" --config "$work/config.toml" "$@"; }
echo; v discover --url "$RADICALE_URL" --user demo --password-command "cat $work/password"
echo; v sync
echo; echo "==> the synced folders:"; (cd "$work" && find calendars contacts -type f | sort)
echo; echo "==> khard reads the contacts:"; khard
echo; echo "==> a local edit: rename 'Team meeting 1' and add a new task, then sync again"
sed -i 's/SUMMARY:Team meeting 1/SUMMARY:Team meeting 1 (moved to room B)/' "$work/calendars/work/meeting-1.ics"
printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird demo//EN\r\nBEGIN:VTODO\r\nUID:demo-local-task@vdird\r\nDTSTAMP:%s0101T000000Z\r\nSUMMARY:Task made in the folder\r\nEND:VTODO\r\nEND:VCALENDAR\r\n' "$y" > "$work/calendars/tasks/local-task.ics"
echo "    and a contact saved in the address book folder"
printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:demo-alan@vdird\r\nFN:Alan Turing\r\nN:Turing;Alan;;;\r\nEND:VCARD\r\n' > "$work/contacts/contacts/alan.vcf"
v sync
echo; echo "==> the server now says:"
curl -s -u demo:demo-password "$base/work/meeting-1.ics" | grep SUMMARY
curl -s -u demo:demo-password "$base/tasks/local-task.ics" | grep SUMMARY
curl -s -u demo:demo-password "$base/contacts/alan.vcf" | grep FN
echo; echo "==> a new folder becomes a calendar on the server: calendars/garden, with a displayname,"
echo "    a color and one event"
mkdir "$work/calendars/garden"
echo Garden > "$work/calendars/garden/displayname"
echo '#2E8B57' > "$work/calendars/garden/color"
printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//vdird demo//EN\r\nBEGIN:VEVENT\r\nUID:demo-seeds@vdird\r\nDTSTAMP:%s0101T000000Z\r\nDTSTART:%s0420T090000Z\r\nSUMMARY:Sow the tomatoes\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' "$y" "$y" > "$work/calendars/garden/seeds.ics"
v sync
echo "    the server's calendars now (display names):"
curl -s -u demo:demo-password -X PROPFIND -H 'Depth: 1' "$base/" --data '<propfind xmlns="DAV:"><prop><displayname/></prop></propfind>' |
	grep -o '<displayname>[^<]*' | sed 's/<displayname>/      /'
curl -s -u demo:demo-password "$base/garden/seeds.ics" | grep SUMMARY
echo; echo "==> sync again: it sees its own uploads (new ctag) and has nothing to do; then nothing"
echo "    changed at all, and a pass costs one request: 'unchanged'"
v sync; v sync
echo; echo "==> now the daemon: vdird daemon (what systemd runs), polling every 3 s"
sed -i '1i interval = "3s"' "$work/config.toml"
"$work/vdird" --config "$work/config.toml" daemon >"$work/daemon.log" 2>&1 &
dpid=$!
trap 'kill $dpid 2>/dev/null || true; kill $rpid 2>/dev/null || true' EXIT
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$work}"
# Ready once the first reconcile is done (what systemd's READY=1 marks).
for _ in $(seq 100); do grep -q 'first reconcile done' "$work/daemon.log" && break; sleep 0.1; done
sleep 0.3 # let the watcher settle after its own first pass
echo "==> edit a file in the folder; the daemon pushes it within about a second"
start=$(date +%s%N)
sed -i 's/SUMMARY:Team meeting 2/SUMMARY:Team meeting 2 (edited in vim)/' "$work/calendars/work/meeting-2.ics"
for _ in $(seq 100); do
	curl -s -u demo:demo-password "$base/work/meeting-2.ics" | grep -q 'edited in vim' && break; sleep 0.05
done
echo "    server has it after $(( ($(date +%s%N) - start) / 1000000 )) ms:"
curl -s -u demo:demo-password "$base/work/meeting-2.ics" | grep SUMMARY
echo "==> a 'phone' changes a task on the server; the daemon brings it down at its next poll"
curl -s -u demo:demo-password "$base/tasks/buy-milk.ics" | sed 's/SUMMARY:Buy milk/SUMMARY:Buy oat milk/' > "$work/phone.ics"
dav -X PUT "$base/tasks/buy-milk.ics" -H 'Content-Type: text/calendar' --data-binary @"$work/phone.ics" >/dev/null
start=$(date +%s%N)
for _ in $(seq 100); do grep -q 'oat milk' "$work/calendars/tasks/buy-milk.ics" && break; sleep 0.1; done
echo "    local file has it after $(( ($(date +%s%N) - start) / 1000000 )) ms:"
grep SUMMARY "$work/calendars/tasks/buy-milk.ics"
echo; echo "\$ vdird status"
"$work/vdird" --config "$work/config.toml" status || true
kill -TERM $dpid; wait $dpid || true
echo; echo "==> daemon log (JSON, as journald gets it):"; tail -n 6 "$work/daemon.log"
echo; echo "Demo files are in $work (Radicale and the daemon stopped)."

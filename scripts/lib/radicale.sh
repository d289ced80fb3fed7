# A throwaway Radicale on a free loopback port, for scripts/demo.sh and
# scripts/readme-check.sh. Source this file, then:
#   radicale_start DIR USER PASSWORD   # config, storage and log under DIR;
#                                      # sets RADICALE_URL and RADICALE_PID
#   radicale_mkcal NAME DISPLAYNAME COMPONENT COLOR   # a calendar of USER
#   radicale_mkbook NAME DISPLAYNAME   # an address book of USER
#   radicale_put PATH BODY             # PATH below USER's home, e.g. work/a.ics
#                                      # (a .vcf PATH goes as text/vcard)
# The caller stops it: kill "$RADICALE_PID".

radicale_start() {
	local dir=$1 port
	RADICALE_USER=$2 RADICALE_PASSWORD=$3
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 5232)
	mkdir -p "$dir/radicale"
	printf '%s:%s\n' "$RADICALE_USER" "$RADICALE_PASSWORD" >"$dir/htpasswd"
	cat >"$dir/radicale.conf" <<CONF
[server]
hosts = 127.0.0.1:$port
[auth]
type = htpasswd
htpasswd_filename = $dir/htpasswd
htpasswd_encryption = plain
[rights]
type = owner_only
[storage]
filesystem_folder = $dir/radicale
CONF
	radicale --config "$dir/radicale.conf" >"$dir/radicale.log" 2>&1 &
	RADICALE_PID=$!
	RADICALE_URL="http://127.0.0.1:$port/"
	for _ in $(seq 50); do curl -s -o /dev/null "$RADICALE_URL" && return 0; sleep 0.2; done
	echo "Radicale did not start; its log:" >&2
	cat "$dir/radicale.log" >&2
	kill "$RADICALE_PID" 2>/dev/null || true
	return 1
}

# radicale_dav runs curl as the user and prints the HTTP status.
radicale_dav() {
	curl -s -o /dev/null -w '%{http_code}' -u "$RADICALE_USER:$RADICALE_PASSWORD" "$@"
}

radicale_mkcal() {
	radicale_dav -X MKCALENDAR "$RADICALE_URL$RADICALE_USER/$1/" -H 'Content-Type: application/xml' --data-binary "<?xml version=\"1.0\"?>
<C:mkcalendar xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\" xmlns:I=\"http://apple.com/ns/ical/\"><D:set><D:prop>
<D:displayname>$2</D:displayname><I:calendar-color>$4</I:calendar-color>
<C:supported-calendar-component-set><C:comp name=\"$3\"/></C:supported-calendar-component-set>
</D:prop></D:set></C:mkcalendar>" >/dev/null
}

radicale_mkbook() {
	radicale_dav -X MKCOL "$RADICALE_URL$RADICALE_USER/$1/" -H 'Content-Type: application/xml' --data-binary "<?xml version=\"1.0\"?>
<D:mkcol xmlns:D=\"DAV:\" xmlns:A=\"urn:ietf:params:xml:ns:carddav\"><D:set><D:prop>
<D:resourcetype><D:collection/><A:addressbook/></D:resourcetype><D:displayname>$2</D:displayname>
</D:prop></D:set></D:mkcol>" >/dev/null
}

radicale_put() {
	local ct='text/calendar; charset=utf-8'
	case $1 in *.vcf) ct='text/vcard; charset=utf-8' ;; esac
	radicale_dav -X PUT "$RADICALE_URL$RADICALE_USER/$1" -H "Content-Type: $ct" --data-binary "$2" >/dev/null
}

#!/usr/bin/env bash
# The benchmark: vdird against vdirsyncer and against the raw limit
# (one calendar-query REPORT with curl + the files written with one batched
# durable flush) on real Radicale and Xandikos servers on loopback, and the
# address books: 10,000 contacts against vdirsyncer, and vdird's memory on
# 500 cards of 1 MB photos.
#
#   scripts/bench.sh                 1,000 and 10,000 items; idle CPU over 5 minutes
#   scripts/bench.sh --quick         idle CPU over 70 s
#   scripts/bench.sh --sizes 1000    choose the Radicale sizes
#   scripts/bench.sh --big           add 100,000 items (vdirsyncer skipped there)
#   scripts/bench.sh --repeat 5      raw limit and vdird initial sync 5 times each,
#                                    interleaved (default 3); medians are compared
#   scripts/bench.sh --contacts-only the address books only (--contacts N,
#                                    --photo-cards N; 0 skips either)
#   scripts/bench.sh --out docs/performance.md   write the report (default: print only)
#
# Other flags: see `go run ./internal/cmd/bench -h`. Installs missing Debian
# packages (radicale, xandikos, vdirsyncer, curl, time) with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
missing=()
need radicale || missing+=(radicale)
need xandikos || missing+=(xandikos)
need vdirsyncer || missing+=(vdirsyncer)
need curl || missing+=(curl)
need git || missing+=(git)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
	echo "==> installing ${missing[*]} (Debian packages)" >&2
	sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

bin=$(mktemp -d /tmp/vdird-bench-bin.XXXXXX)
trap 'rm -rf "$bin"' EXIT
echo "==> building vdird and the benchmark into $bin" >&2
CGO_ENABLED=0 go build -o "$bin/vdird" ./cmd/vdird   # as the README builds it
go build -o "$bin/bench" ./internal/cmd/bench
exec_args=(--vdird "$bin/vdird")
"$bin/bench" "${exec_args[@]}" "$@"

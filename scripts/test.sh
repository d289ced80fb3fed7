#!/usr/bin/env bash
# The whole test suite: installs the real servers the integration tests run
# against and the tools the tests drive (Debian packages), then checks
# formatting and lint, runs every Go test with the servers required, and
# follows the README's steps (scripts/readme-check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=()
command -v radicale >/dev/null 2>&1 || pkgs+=(radicale)
command -v xandikos >/dev/null 2>&1 || pkgs+=(xandikos)
command -v khal >/dev/null 2>&1 || pkgs+=(khal)
# The README check runs the README's khal and todoman examples.
command -v todoman >/dev/null 2>&1 || pkgs+=(todoman)
command -v systemd-analyze >/dev/null 2>&1 || pkgs+=(systemd)
# The benchmark's smoke test (internal/cmd/bench) drives these too.
command -v vdirsyncer >/dev/null 2>&1 || pkgs+=(vdirsyncer)
command -v curl >/dev/null 2>&1 || pkgs+=(curl)
command -v git >/dev/null 2>&1 || pkgs+=(git)
[ -x /usr/bin/time ] || pkgs+=(time)
if [ ${#pkgs[@]} -gt 0 ]; then
	sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "==> installing ${pkgs[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

# Integration tests fail (never skip) when a server is missing.
export CI="${CI:-true}"
echo "==> gofmt, go vet, staticcheck"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "not gofmt'ed: $unformatted"; exit 1; fi
go vet ./...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
echo "==> go test"
go test -count=1 -timeout 40m "$@" ./...
echo "==> the README's steps"
bash scripts/readme-check.sh

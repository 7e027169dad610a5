#!/usr/bin/env bash
# chromium.sh makes sure Debian's Chromium is installed, for the web UI's
# end-to-end test (web/e2e_test.go drives it headless with chromedp), and
# prints its path on stdout (everything else goes to stderr), so that
#
#   export DRIP_CHROMIUM="$(scripts/chromium.sh)"
#   DRIP_REQUIRE_CHROMIUM=1 go test -race ./web/...
#
# works on a fresh machine. $DRIP_CHROMIUM, when set to an executable, is
# taken as it is. Installing needs root (apt-get); the browser must come
# from Debian's packages: a test tool's own browser download fails here.
set -euo pipefail

say() { echo "chromium.sh: $*" >&2; }
die() { say "$*"; exit 1; }

find_bin() {
	local c
	for c in "${DRIP_CHROMIUM:-}" /usr/bin/chromium "$(command -v chromium 2>/dev/null || true)"; do
		if [[ -n "$c" && -x "$c" ]]; then bin="$c"; return 0; fi
	done
	return 1
}

if ! find_bin; then
	if [[ "$(id -u)" -ne 0 ]]; then
		die "chromium not found and not root: install Debian's chromium package"
	fi
	say "chromium not found; installing it with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=300 update >&2 || die "apt-get update failed"
	apt-get -o DPkg::Lock::Timeout=300 install -y chromium >&2 || die "apt-get install chromium failed"
	find_bin || die "chromium installed but /usr/bin/chromium still not found"
fi
"$bin" --version >&2 || die "$bin does not run"
echo "$bin"

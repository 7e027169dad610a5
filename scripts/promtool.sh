#!/usr/bin/env bash
# promtool.sh prints the path of a promtool binary, fetching Debian's
# prometheus package (unpacked, never installed or started) when there is
# none, so the alert rules' unit tests run. Prints nothing if it cannot.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then command -v promtool; exit 0; fi
dir="${DRIP_PROMTOOL_DIR:-${TMPDIR:-/tmp}/drip-promtool}"
if [[ -x "$dir/usr/bin/promtool" ]]; then echo "$dir/usr/bin/promtool"; exit 0; fi
mkdir -p "$dir"
(
  cd "$dir"
  apt-get download prometheus >/dev/null 2>&1 || { [[ "$(id -u)" -eq 0 ]] && apt-get update >/dev/null 2>&1 && apt-get download prometheus >/dev/null 2>&1; } || exit 0
  dpkg -x prometheus_*.deb . && rm -f prometheus_*.deb
) >&2
[[ -x "$dir/usr/bin/promtool" ]] && echo "$dir/usr/bin/promtool"
exit 0

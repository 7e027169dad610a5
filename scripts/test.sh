#!/usr/bin/env bash
# The whole test run, on a fresh machine: starts the real peers the tests
# need (PostgreSQL 15, Dovecot), checks formatting, vet and staticcheck, and
# runs every test with the race detector. PostgreSQL and Dovecot tests never
# skip here: if a server cannot start, this script fails.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2 # staticcheck 2026.2.2
export DRIP_REQUIRE_POSTGRES=1
export DRIP_REQUIRE_DOVECOT=1
export DRIP_ARTIFACTS="${DRIP_ARTIFACTS:-${TMPDIR:-/tmp}/drip-artifacts}"

echo "== peers"
cleanup() {
  scripts/postgres.sh stop >/dev/null 2>&1 || true
  [ -x scripts/dovecot.sh ] && scripts/dovecot.sh stop >/dev/null 2>&1 || true
  [ -x scripts/dovecot-oauth.sh ] && scripts/dovecot-oauth.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
DRIP_TEST_POSTGRES_URL="$(scripts/postgres.sh start)"
export DRIP_TEST_POSTGRES_URL
echo "postgres: ${DRIP_TEST_POSTGRES_URL}"
if [ -x scripts/dovecot.sh ]; then
  DRIP_TEST_DOVECOT="$(scripts/dovecot.sh start)"
  export DRIP_TEST_DOVECOT
  echo "dovecot: ${DRIP_TEST_DOVECOT}"
fi
# Dovecot with an oauth2 passdb, submission and TLS (OAuth2, mailbox test,
# Sent folder); the tests run its authorization server and relay sink.
if [ -x scripts/dovecot-oauth.sh ]; then
  DRIP_TEST_DOVECOT_OAUTH="$(scripts/dovecot-oauth.sh start)"
  export DRIP_TEST_DOVECOT_OAUTH
  echo "dovecot (oauth2, submission): ${DRIP_TEST_DOVECOT_OAUTH%% PASSWORD=*}"
fi
DRIP_CHROMIUM="$(scripts/chromium.sh)"
export DRIP_CHROMIUM DRIP_REQUIRE_CHROMIUM=1
echo "chromium: ${DRIP_CHROMIUM}"
# promtool checks and unit-tests the alert rules; best effort (the test
# skips when Debian's package cannot be fetched).
PROMTOOL="$(scripts/promtool.sh || true)"
export PROMTOOL
echo "promtool: ${PROMTOOL:-(none; alert rule unit tests skip)}"

echo "== build, format, vet, staticcheck"
go build ./...
unformatted="$(gofmt -l . | grep -v '^vendor/' || true)"
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
if ! go mod tidy -diff >/tmp/drip-tidy.diff 2>&1; then
  echo "go mod tidy would change go.mod/go.sum:"; cat /tmp/drip-tidy.diff; exit 1
fi
GOFLAGS= go run "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}" ./...

echo "== tests (race)"
go test -race -count=1 -timeout 20m ./...
echo "== all green"

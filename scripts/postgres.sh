#!/usr/bin/env bash
# postgres.sh starts a throwaway PostgreSQL 15 cluster for drip's tests and
# prints its DSN on stdout (everything else goes to stderr), so that
#
#   export DRIP_TEST_POSTGRES_URL="$(scripts/postgres.sh)"
#   DRIP_REQUIRE_POSTGRES=1 go test -race ./...
#   scripts/postgres.sh stop
#
# works on a fresh machine. The cluster lives in $DRIP_PG_DIR (default
# ${TMPDIR:-/tmp}/drip-pg), listens on 127.0.0.1 only, on a free port, with
# trust authentication and fsync off: it is for tests, never for data.
#
#   scripts/postgres.sh [start]   start (or reuse) the cluster, print the DSN
#   scripts/postgres.sh url       print the DSN of the running cluster
#   scripts/postgres.sh stop      stop it and delete its directory
set -euo pipefail

dir="${DRIP_PG_DIR:-${TMPDIR:-/tmp}/drip-pg}"
data="$dir/data"
log="$dir/postgres.log"

say() { echo "postgres.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# find_bin sets $bin to the directory holding initdb and pg_ctl.
find_bin() {
	local d
	for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
		if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then bin="$d"; return 0; fi
	done
	if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
		bin="$(dirname "$(command -v initdb)")"
		return 0
	fi
	return 1
}

ensure_bin() {
	find_bin && return 0
	if [[ "$(id -u)" -ne 0 ]]; then
		die "PostgreSQL binaries (initdb, pg_ctl) not found and not root: install postgresql-15"
	fi
	say "PostgreSQL binaries not found; installing postgresql-15 with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=300 update >&2 || die "apt-get update failed"
	apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends postgresql-15 >&2 ||
		die "apt-get install postgresql-15 failed"
	find_bin || die "postgresql-15 installed but initdb/pg_ctl still not found"
}

# as_owner runs a command as the cluster's owner: postgres when we are root
# (initdb and postgres refuse to run as root), ourselves otherwise.
as_owner() {
	if [[ "$(id -u)" -eq 0 ]]; then
		id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

running() {
	[[ -f "$data/PG_VERSION" ]] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

dsn() {
	local port
	port="$(cat "$dir/port")"
	echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}

start() {
	ensure_bin
	if running; then
		dsn
		return 0
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	chmod 755 "$dir"
	if [[ "$(id -u)" -eq 0 ]]; then
		id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
		chown postgres: "$dir"
	fi
	as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }

	# A free port: start at a random one above 20000 and walk up; the start
	# itself is retried too, in case someone takes the port in between.
	local port=$((20000 + RANDOM % 20000)) tries=0
	while :; do
		tries=$((tries + 1))
		[[ $tries -le 50 ]] || die "no free port found for PostgreSQL"
		if [[ $port -eq 2024 ]] || port_in_use "$port"; then
			port=$((port + 1))
			continue
		fi
		cat >"$data/drip-test.conf" <<-EOF
			listen_addresses = '127.0.0.1'
			port = $port
			unix_socket_directories = '$data'
			max_connections = 300
			fsync = off
			synchronous_commit = off
			full_page_writes = off
			shared_buffers = 128MB
		EOF
		grep -q "^include 'drip-test.conf'" "$data/postgresql.conf" ||
			echo "include 'drip-test.conf'" >>"$data/postgresql.conf"
		if as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null 2>&1; then
			break
		fi
		say "start on port $port failed, trying the next one"
		port=$((port + 1))
	done
	echo "$port" >"$dir/port"
	say "PostgreSQL running on 127.0.0.1:$port (data in $data, log $log)"
	dsn
}

stop() {
	if find_bin && running; then
		as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
		say "stopped"
	fi
	rm -rf "$dir"
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
url)
	find_bin && running || die "no cluster running in $dir"
	dsn
	;;
*) die "usage: $0 [start|stop|url]" ;;
esac

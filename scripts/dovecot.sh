#!/usr/bin/env bash
# dovecot.sh starts a private, throwaway Dovecot IMAP server for drip's
# tests and prints how to reach it on stdout, as one line
#
#   127.0.0.1:PORT USER PASSWORD
#
# (everything else goes to stderr), so that
#
#   export DRIP_TEST_DOVECOT="$(scripts/dovecot.sh start)"
#   DRIP_REQUIRE_DOVECOT=1 go test -race ./mailer/imapwatch/
#   scripts/dovecot.sh stop
#
# works on a fresh Debian machine. Dovecot comes from Debian's
# dovecot-imapd package, installed when missing (as root) without letting
# the package start a system-wide server. The test instance runs rootless
# under a dedicated user (or yourself when not root), from its own config
# in $DRIP_DOVECOT_DIR (default ${TMPDIR:-/tmp}/drip-dovecot), listens on
# 127.0.0.1 only, on a free port, without TLS, with one user in a
# passwd-file. It is for tests, never for mail.
#
#   scripts/dovecot.sh [start]   start (or reuse) the server, print the line
#   scripts/dovecot.sh url       print the line of the running server
#   scripts/dovecot.sh stop      stop it and delete its directory
set -euo pipefail

dir="${DRIP_DOVECOT_DIR:-${TMPDIR:-/tmp}/drip-dovecot}"
conf="$dir/dovecot.conf"
run_user="drip-dovecot"
imap_user="drip"

say() { echo "dovecot.sh: $*" >&2; }
die() { say "$*"; exit 1; }

find_bin() {
	local d
	for d in /usr/sbin/dovecot /usr/local/sbin/dovecot; do
		if [[ -x "$d" ]]; then bin="$d"; return 0; fi
	done
	if command -v dovecot >/dev/null; then bin="$(command -v dovecot)"; return 0; fi
	return 1
}

# ensure_bin installs dovecot-imapd when missing. The package's postinst
# would start a system Dovecot on port 143: a policy-rc.d that forbids
# service starts is put in place for the install (unless one exists), and
# a system server that started anyway is stopped.
ensure_bin() {
	find_bin && return 0
	[[ "$(id -u)" -eq 0 ]] || die "dovecot not found and not root: install dovecot-imapd"
	say "dovecot not found; installing dovecot-imapd with apt-get"
	local policy=/usr/sbin/policy-rc.d ours=0
	if [[ ! -e "$policy" ]]; then
		printf '#!/bin/sh\n# dovecot.sh: no service starts during the install\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		ours=1
	fi
	local ok=1
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get -o DPkg::Lock::Timeout=300 update >&2 || ! apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends dovecot-imapd >&2; then
		ok=0
	fi
	if [[ $ours -eq 1 ]]; then rm -f "$policy"; fi
	[[ $ok -eq 1 ]] || die "apt-get install dovecot-imapd failed"
	stop_system_dovecot
	find_bin || die "dovecot-imapd installed but the dovecot binary is still not found"
}

# stop_system_dovecot stops a system-wide Dovecot the install may have
# started (only that one: its pid file is the package's).
stop_system_dovecot() {
	local pidfile=/run/dovecot/master.pid pid
	[[ -f "$pidfile" ]] || return 0
	pid="$(cat "$pidfile")"
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
		say "stopping the system Dovecot the package started (pid $pid)"
		kill "$pid" || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
}

# as_user runs a command as the server's user.
as_user() {
	if [[ "$(id -u)" -eq 0 ]]; then
		runuser -u "$run_user" -- "$@"
	else
		"$@"
	fi
}

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

master_pid() {
	[[ -f "$dir/run/master.pid" ]] && cat "$dir/run/master.pid"
}

running() {
	local pid
	pid="$(master_pid 2>/dev/null)" || return 1
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

line() {
	echo "127.0.0.1:$(cat "$dir/port") $imap_user $(cat "$dir/password")"
}

# greets reports whether the server on port answers with an IMAP greeting.
greets() {
	local reply=""
	exec 3<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || return 1
	IFS= read -r -t 2 reply <&3 || true
	exec 3>&- 3<&-
	[[ "$reply" == "* OK"* ]]
}

write_conf() {
	local port="$1" user="$2"
	cat >"$conf" <<-EOF
		# Written by scripts/dovecot.sh: a private test server, not for mail.
		protocols = imap
		listen = 127.0.0.1
		base_dir = $dir/run
		state_dir = $dir/state
		log_path = $dir/dovecot.log
		info_log_path = $dir/dovecot.log
		ssl = no
		disable_plaintext_auth = no
		auth_mechanisms = plain login
		default_login_user = $user
		default_internal_user = $user
		default_internal_group = $user
		service imap-login {
		  chroot =
		  inet_listener imap {
		    address = 127.0.0.1
		    port = $port
		  }
		  inet_listener imaps {
		    port = 0
		  }
		}
		service anvil {
		  chroot =
		}
		passdb {
		  driver = passwd-file
		  args = scheme=PLAIN username_format=%u $dir/passwd
		}
		userdb {
		  driver = static
		  args = uid=$user gid=$user home=$dir/mail/%u
		}
		mail_location = maildir:~/Maildir
	EOF
}

start() {
	ensure_bin
	if running; then
		line
		return 0
	fi
	local user
	if [[ "$(id -u)" -eq 0 ]]; then
		id "$run_user" >/dev/null 2>&1 ||
			useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$run_user"
		user="$run_user"
	else
		user="$(id -un)"
	fi
	rm -rf "$dir"
	mkdir -p "$dir/run" "$dir/state" "$dir/mail"
	local password
	password="$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	echo "$password" >"$dir/password"
	echo "$imap_user:$password" >"$dir/passwd"
	chmod 700 "$dir"
	if [[ "$(id -u)" -eq 0 ]]; then chown -R "$user:" "$dir"; fi

	# A free port: start at a random one above 20000 and walk up; the start
	# itself is retried too, in case someone takes the port in between.
	local port=$((20000 + RANDOM % 20000)) tries=0
	while :; do
		tries=$((tries + 1))
		[[ $tries -le 20 ]] || die "could not start Dovecot (see $dir/dovecot.log)"
		if [[ $port -eq 2024 ]] || port_in_use "$port"; then
			port=$((port + 1))
			continue
		fi
		write_conf "$port" "$user"
		if [[ "$(id -u)" -eq 0 ]]; then chown "$user:" "$conf"; fi
		# Its daemons keep inherited descriptors open: give them none of ours.
		if as_user "$bin" -c "$conf" </dev/null >>"$dir/dovecot.out" 2>&1; then
			local up=0
			for _ in $(seq 100); do
				if greets "$port"; then up=1; break; fi
				sleep 0.1
			done
			if [[ $up -eq 1 ]]; then break; fi
			say "Dovecot did not answer on port $port; trying the next one"
			stop_instance
		fi
		port=$((port + 1))
	done
	echo "$port" >"$dir/port"
	say "Dovecot running on 127.0.0.1:$port (config $conf, log $dir/dovecot.log)"
	line
}

stop_instance() {
	local pid
	pid="$(master_pid 2>/dev/null)" || return 0
	[[ -n "$pid" ]] || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
}

stop() {
	if running; then
		stop_instance
		say "stopped"
	fi
	rm -rf "$dir"
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
url)
	running || die "no Dovecot running in $dir"
	line
	;;
*) die "usage: $0 [start|stop|url]" ;;
esac

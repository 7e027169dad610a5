#!/usr/bin/env bash
# dovecot-oauth.sh starts a private, throwaway Dovecot for drip's OAuth2,
# submission, TLS and Sent-folder tests, and prints how to reach it on
# stdout as one line of KEY=VALUE words:
#
#   IMAP=127.0.0.1:P SUBMISSION=127.0.0.1:P AUTH=127.0.0.1:P RELAY=127.0.0.1:P USER=drip PASSWORD=… CA=DIR/ca.pem
#
#   export DRIP_TEST_DOVECOT_OAUTH="$(scripts/dovecot-oauth.sh start)"
#   DRIP_REQUIRE_DOVECOT=1 go test -race -run Dovecot ./cmd/drip/
#   scripts/dovecot-oauth.sh stop
#
# IMAP and submission offer STARTTLS with a test certificate for 127.0.0.1
# (CA is the file that trusts it), AUTH PLAIN/LOGIN with USER and PASSWORD
# (passwd-file) and XOAUTH2/OAUTHBEARER, whose bearer tokens Dovecot's
# oauth2 passdb checks by introspection at http://AUTH/introspect. Nothing
# listens on AUTH or RELAY: the tests run the authorization server
# (mailer/oauth/oauthtest) and the SMTP sink submissions are relayed to
# there. INBOX has a Sent folder marked \Sent (SPECIAL-USE).
#
# Debian's dovecot-imapd and dovecot-submissiond are installed when
# missing (as root), without letting the packages start a system server.
# It runs rootless under a dedicated user, in $DRIP_DOVECOT_OAUTH_DIR
# (default ${TMPDIR:-/tmp}/drip-dovecot-oauth). For tests, never for mail.
#
#   scripts/dovecot-oauth.sh [start]   start (or reuse) it, print the line
#   scripts/dovecot-oauth.sh url       print the line of the running one
#   scripts/dovecot-oauth.sh stop      stop it and delete its directory
set -euo pipefail

dir="${DRIP_DOVECOT_OAUTH_DIR:-${TMPDIR:-/tmp}/drip-dovecot-oauth}"
conf="$dir/dovecot.conf"
run_user="drip-dovecot"
imap_user="drip"

say() { echo "dovecot-oauth.sh: $*" >&2; }
die() { say "$*"; exit 1; }

bin=""
find_bin() {
	local d
	for d in /usr/sbin/dovecot /usr/local/sbin/dovecot; do
		if [[ -x "$d" ]]; then bin="$d"; return 0; fi
	done
	return 1
}

have_submission() {
	[[ -x /usr/lib/dovecot/submission && -x /usr/lib/dovecot/submission-login ]]
}

# ensure_bin installs the packages when missing; the packages' postinst
# would start a system Dovecot: a policy-rc.d forbids it for the install.
ensure_bin() {
	if find_bin && have_submission && command -v openssl >/dev/null; then return 0; fi
	[[ "$(id -u)" -eq 0 ]] || die "dovecot, dovecot-submissiond or openssl missing and not root: install dovecot-imapd dovecot-submissiond openssl"
	say "installing dovecot-imapd dovecot-submissiond openssl with apt-get"
	local policy=/usr/sbin/policy-rc.d ours=0
	if [[ ! -e "$policy" ]]; then
		printf '#!/bin/sh\n# dovecot-oauth.sh: no service starts during the install\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		ours=1
	fi
	local ok=1
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get -o DPkg::Lock::Timeout=300 update >&2 || ! apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends dovecot-imapd dovecot-submissiond openssl >&2; then
		ok=0
	fi
	if [[ $ours -eq 1 ]]; then rm -f "$policy"; fi
	[[ $ok -eq 1 ]] || die "apt-get install failed"
	local pidfile=/run/dovecot/master.pid pid
	if [[ -f "$pidfile" ]]; then
		pid="$(cat "$pidfile")"
		if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill "$pid" || true; fi
	fi
	find_bin && have_submission || die "packages installed but dovecot or its submission service is still missing"
}

as_user() {
	if [[ "$(id -u)" -eq 0 ]]; then runuser -u "$run_user" -- "$@"; else "$@"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

master_pid() { [[ -f "$dir/run/master.pid" ]] && cat "$dir/run/master.pid"; }

running() {
	local pid
	pid="$(master_pid 2>/dev/null)" || return 1
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

line() {
	# shellcheck disable=SC1091
	source "$dir/ports"
	echo "IMAP=127.0.0.1:$imap SUBMISSION=127.0.0.1:$submission AUTH=127.0.0.1:$auth RELAY=127.0.0.1:$relay USER=$imap_user PASSWORD=$(cat "$dir/password") CA=$dir/ca.pem"
}

greets() {
	local reply=""
	exec 3<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || return 1
	IFS= read -r -t 2 reply <&3 || true
	exec 3>&- 3<&-
	[[ "$reply" == "$2"* ]]
}

# free_ports sets imap, submission, auth and relay to four free ports,
# below Linux's ephemeral range (32768 and up): the auth and relay ports are
# bound later by the tests, and a client socket must not take one first.
free_ports() {
	local p=$((20000 + RANDOM % 12000)) got=()
	while [[ ${#got[@]} -lt 4 ]]; do
		if [[ $p -ne 2024 ]] && ! port_in_use "$p"; then got+=("$p"); fi
		p=$((p + 1))
	done
	imap=${got[0]} submission=${got[1]} auth=${got[2]} relay=${got[3]}
}

write_conf() {
	local user="$1"
	cat >"$dir/oauth2.conf.ext" <<-EOF
		introspection_mode = post
		introspection_url = http://127.0.0.1:$auth/introspect
		username_attribute = username
		active_attribute = active
		active_value = true
		force_introspection = yes
		timeout_msecs = 5000
	EOF
	cat >"$conf" <<-EOF
		# Written by scripts/dovecot-oauth.sh: a private test server, not for mail.
		protocols = imap submission
		listen = 127.0.0.1
		base_dir = $dir/run
		state_dir = $dir/state
		log_path = $dir/dovecot.log
		info_log_path = $dir/dovecot.log
		hostname = localhost
		ssl = yes
		ssl_cert = <$dir/cert.pem
		ssl_key = <$dir/key.pem
		disable_plaintext_auth = no
		auth_mechanisms = plain login xoauth2 oauthbearer
		default_login_user = $user
		default_internal_user = $user
		default_internal_group = $user
		service imap-login {
		  chroot =
		  inet_listener imap {
		    address = 127.0.0.1
		    port = $imap
		  }
		  inet_listener imaps {
		    port = 0
		  }
		}
		service submission-login {
		  chroot =
		  inet_listener submission {
		    address = 127.0.0.1
		    port = $submission
		  }
		}
		service anvil {
		  chroot =
		}
		submission_relay_host = 127.0.0.1
		submission_relay_port = $relay
		submission_relay_trusted = yes
		submission_relay_ssl = no
		passdb {
		  driver = passwd-file
		  args = scheme=PLAIN username_format=%u $dir/passwd
		}
		passdb {
		  driver = oauth2
		  mechanisms = xoauth2 oauthbearer
		  args = $dir/oauth2.conf.ext
		}
		userdb {
		  driver = static
		  args = uid=$user gid=$user home=$dir/mail/%u
		}
		mail_location = maildir:~/Maildir
		namespace inbox {
		  inbox = yes
		  mailbox Sent {
		    special_use = \\Sent
		    auto = subscribe
		  }
		}
	EOF
}

start() {
	ensure_bin
	if running; then line; return 0; fi
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
	# A self-signed certificate for 127.0.0.1; ca.pem is what trusts it.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=drip test dovecot" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null || die "openssl could not make the test certificate"
	cp "$dir/cert.pem" "$dir/ca.pem"
	chmod 755 "$dir"
	chmod 644 "$dir/ca.pem"
	if [[ "$(id -u)" -eq 0 ]]; then chown -R "$user:" "$dir"; fi
	local tries=0
	while :; do
		tries=$((tries + 1))
		[[ $tries -le 10 ]] || die "could not start Dovecot (see $dir/dovecot.log)"
		free_ports
		write_conf "$user"
		if [[ "$(id -u)" -eq 0 ]]; then chown "$user:" "$conf" "$dir/oauth2.conf.ext"; fi
		if as_user "$bin" -c "$conf" </dev/null >>"$dir/dovecot.out" 2>&1; then
			local up=0
			for _ in $(seq 100); do
				if greets "$imap" "* OK" && greets "$submission" "220"; then up=1; break; fi
				sleep 0.1
			done
			if [[ $up -eq 1 ]]; then break; fi
			say "Dovecot did not answer; trying other ports"
			stop_instance
		fi
	done
	printf 'imap=%s\nsubmission=%s\nauth=%s\nrelay=%s\n' "$imap" "$submission" "$auth" "$relay" >"$dir/ports"
	say "Dovecot (IMAP, submission, oauth2) running (config $conf, log $dir/dovecot.log)"
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
	if running; then stop_instance; say "stopped"; fi
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

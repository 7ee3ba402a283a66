# rspamd-private.sh: sourced by peers.sh and peer-bayes.sh (POSIX sh).
#
# rspamd_private_overlay LOCAL_D DNS_PORT PORT JOBS LOGDIR writes, into a
# copy of /etc/rspamd's local.d, what a private offline rspamd needs:
# every module that asks the network or keeps state off, DNS to a local
# stub that refuses everything (DNS_PORT), its workers on loopback ports
# PORT (normal, JOBS processes), PORT+1 (controller) and PORT+2 (proxy),
# and its log in LOGDIR.
rspamd_private_overlay() {
	_L=$1
	for _m in rbl surbl dkim spf dmarc fuzzy_check asn emails arc bimi reputation \
		external_services dcc p0f url_redirector replies ratelimit greylist \
		neural history_redis mx_check clickhouse elastic metadata_exporter rspamd_update; do
		echo "enabled = false;" >"$_L/$_m.conf"
	done
	printf 'dns {\n  nameserver = ["127.0.0.1:%s"];\n  timeout = 0.1s;\n  retransmits = 0;\n}\n' "$2" >"$_L/options.inc"
	printf 'bind_socket = "127.0.0.1:%s";\ncount = %s;\n' "$3" "$4" >"$_L/worker-normal.inc"
	printf 'bind_socket = "127.0.0.1:%s";\n' $(($3 + 1)) >"$_L/worker-controller.inc"
	printf 'bind_socket = "127.0.0.1:%s";\n' $(($3 + 2)) >"$_L/worker-proxy.inc"
	printf 'type = "file";\nfilename = "%s/rspamd.log";\nlevel = "error";\n' "$5" >"$_L/logging.inc"
}

# refusing_dns PORT LOG starts, in the background ($! is its pid), a DNS
# server on 127.0.0.1:PORT that answers every query REFUSED at once, so
# nothing waits on a timeout and no query leaves the machine.
refusing_dns() {
	python3 - "$1" >"$2" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    q, a = s.recvfrom(4096)
    if len(q) < 12:
        continue
    # Same id and question, QR set, RCODE 5 (REFUSED), no answers.
    s.sendto(q[:2] + bytes([0x81 | (q[2] & 0x01), 0x85]) + q[4:6] + b"\0\0\0\0\0\0" + q[12:], a)
PY
}

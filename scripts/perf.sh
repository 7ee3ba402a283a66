#!/usr/bin/env bash
# perf.sh: end-to-end throughput, latency and memory of relayguard.
#
# Builds relayguard, smtpsink and smtpload, starts the sink, then for each
# of PERF_RUNS rounds and each load of PERF_LOADS sends the same N messages
# over C connections straight to the sink, through HAProxy in TCP mode in
# front of it (the floor cost of one hop, when haproxy is installed) and
# through relayguard, and GTUBE messages through relayguard (the reject
# path). The loads: "text" (generated plain text of S bytes), "mime"
# (cmd/smtpload/testdata/mime-5k.eml, a 5 KB multipart/alternative message
# with HTML and 8 links), "pipe" (the same message with MAIL, RCPT and
# DATA pipelined, as Postfix and Exim send) and, with PERF_REPLAY=DIR,
# "replay" (a folder of real mail, round-robin; its spam may be rejected).
# Then it starts a fresh relayguard for the text and the mime load, holds
# PERF_RSS_C concurrent sessions and reads its peak RSS (VmHWM). Prints
# every run and the medians; exits non-zero if a run had unexpected
# failures.
#
# All traffic stays on loopback. Every smtpload run is bounded by
# PERF_MAX_TIME; every process started here is stopped on exit.
#
# Usage: scripts/perf.sh            (about 10 minutes on 2 cores at 2,400 msgs/s)
#        PERF_N=5000 PERF_RUNS=1 scripts/perf.sh   (quick smoke run)
#
# Environment (defaults in brackets):
#   PERF_N [200000]       messages per run (direct run takes ~10-20 s)
#   PERF_C [20]           concurrent connections
#   PERF_S [5120]         body bytes
#   PERF_RUNS [3]         rounds; medians are reported
#   PERF_LOADS [text mime pipe] the loads of each round (text, mime,
#                         pipe, replay)
#   PERF_REPLAY           a folder of real messages: adds the "replay" load
#                         (e.g. ../shared/corpus/modern); no spaces in it
#   PERF_HA_PORT [2527]   HAProxy's port (HAProxy is skipped if absent)
#   PERF_DNS [1]          0: no local DNS server for relayguard
#   PERF_DNS_PORT [2553]  the local DNS server's (rbldnsd's) port
#   PERF_GTUBE_N [PERF_N] messages in the GTUBE (reject path) run
#   PERF_RSS_C [200]      concurrent sessions in the memory run
#   PERF_RSS_N [40000]    messages in the memory run
#   PERF_MAX_TIME [300s]  bound on each smtpload run
#   PERF_RG_PORT [2525]   relayguard port;  PERF_SINK_PORT [2526] sink port
#   PERF_METRICS_PORT [2529] relayguard's metrics, read for the checks that ran
#   PERF_OUT              keep JSON reports and logs in this folder
#   PERF_WAIT_IDLE [0]    wait up to this many seconds before each round
#                         for other processes to leave the CPU idle
#   PERF_COMPARE          a TOML fragment (e.g. scripts/perf-day2.toml)
#                         appended to the configuration of a second
#                         relayguard, loaded in each round right after the
#                         plain one, so the cost of what the fragment turns
#                         on is measured in the same run
#   PERF_COMPARE_ENV      VAR=VALUE words in the second relayguard's
#                         environment (with or without PERF_COMPARE), e.g.
#                         GOMAXPROCS=1
#   PERF_BARE [0]         1: also, in each round right after the plain one,
#                         a relayguard built with -tags perfbare that runs
#                         only the checks named in PERF_BARE_CHECKS: the
#                         SMTP proxy alone, or with the checks chosen
#   PERF_BARE_CHECKS []   comma-separated check names (content, uribl,
#                         dkim...; see the checks listed after the rounds)
set -euo pipefail

N=${PERF_N:-200000}
C=${PERF_C:-20}
S=${PERF_S:-5120}
RUNS=${PERF_RUNS:-3}
LOADS=${PERF_LOADS:-text mime pipe}
if [[ -n ${PERF_REPLAY:-} && $LOADS != *replay* ]]; then
	LOADS="$LOADS replay"
fi
HA_PORT=${PERF_HA_PORT:-2527}
DNS_PORT=${PERF_DNS_PORT:-2553}
GTUBE_N=${PERF_GTUBE_N:-$N}
RSS_C=${PERF_RSS_C:-200}
RSS_N=${PERF_RSS_N:-40000}
MAX_TIME=${PERF_MAX_TIME:-300s}
RG_PORT=${PERF_RG_PORT:-2525}
SINK_PORT=${PERF_SINK_PORT:-2526}
METRICS_PORT=${PERF_METRICS_PORT:-2529}
HOST=127.0.0.1

cd "$(dirname "$0")/.."
# serve refuses root; a benchmark on a throwaway machine is often run as
# root, on loopback only, so allow it here (README, "Installing as a service").
if [[ $(id -u) == 0 ]]; then
	export RELAYGUARD_ALLOW_ROOT=1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/relayguard-perf.XXXXXX")
out=${PERF_OUT:-$work}
mkdir -p "$out"

sink_pid=
dns_pid=
rg_pid=
ha_pid=
hop_pid= # the process between smtpload and the sink in a run, measured
load_pid=
cleanup() {
	local pid
	for pid in $load_pid $rg_pid $ha_pid $sink_pid $dns_pid; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $load_pid $rg_pid $ha_pid $sink_pid $dns_pid; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work" # reports in PERF_OUT, when set, are kept
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "perf.sh: $*" >&2; exit 1; }

# port_open HOST PORT: whether something accepts connections there. It
# reads the SMTP greeting and says QUIT, so the server logs no reset.
port_open() {
	(
		exec 3<>"/dev/tcp/$1/$2" || exit 1
		read -r -t 2 -u 3 _ || true
		printf 'QUIT\r\n' >&3
		read -r -t 2 -u 3 _ || true
	) 2>/dev/null
}

# wait_port HOST PORT PID: wait up to 15 s for PID to listen.
wait_port() {
	local _
	for _ in $(seq 150); do
		port_open "$1" "$2" && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# stop PID: SIGTERM, then SIGKILL after 35 s (relayguard drains for up to
# shutdown_timeout, 30 s by default).
stop() {
	local pid=$1 _
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 350); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# field JSON NAME: a number from smtpload's one-line JSON report.
field() { grep -o "\"$2\":[-0-9.e+]*" "$1" | head -1 | cut -d: -f2; }

# median: the middle of the numbers on stdin.
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "n/a"}'; }

# vm PID FIELD: a field of /proc/PID/status in MB.
vm() { awk -v f="$2:" '$1==f {printf "%.1f", $2/1024}' "/proc/$1/status"; }

HZ=$(getconf CLK_TCK)
# cpu_seconds PID: user+system CPU time of PID so far (0 without PID).
cpu_seconds() {
	if [[ -z $1 ]]; then echo 0; return; fi
	awk -v hz="$HZ" '{printf "%.2f", ($14+$15)/hz}' "/proc/$1/stat"
}
# machine_busy: CPU seconds all processes have used, all cores together.
machine_busy() { awk -v hz="$HZ" '$1=="cpu" {printf "%.2f", ($2+$3+$4+$7+$8+$9)/hz}' /proc/stat; }

for p in $SINK_PORT $RG_PORT $METRICS_PORT; do
	port_open $HOST "$p" && die "port $HOST:$p is already in use"
done

echo "== building"
go build -o "$work/relayguard" ./cmd/relayguard
if [[ ${PERF_BARE:-0} == 1 ]]; then
	go build -tags perfbare -o "$work/relayguard-bare" ./cmd/relayguard
fi
go build -o "$work/smtpsink" ./cmd/smtpsink
go build -o "$work/smtpload" ./cmd/smtpload
"$work/relayguard" version >/dev/null 2>&1 || die "relayguard version failed"

cat >"$work/relayguard.toml" <<EOF
[server]
listen = "$HOST:$RG_PORT"
hostname = "relayguard.test"
max_connections = 400
max_connections_per_ip = 400
[relay]
upstream = "$HOST:$SINK_PORT"
starttls = "off"
[scoring]
reject = 15.0
add_header = 6.0
[store]
dir = "$work/store"
[metrics]
listen = "$HOST:$METRICS_PORT"
EOF

# A local DNS server for relayguard, as a site's resolver would be: one
# DNSBL and one URIBL answered by rbldnsd (RFC 5782 test entries only, so
# nothing in the load is listed but every lookup is made), and every
# other query (SPF, DKIM keys, reverse DNS) refused at once by the same
# server instead of timing out on a machine without the Internet.
if command -v rbldnsd >/dev/null && [[ ${PERF_DNS:-1} != 0 ]]; then
	port_open $HOST "$DNS_PORT" && die "port $HOST:$DNS_PORT is already in use"
	mkdir -p "$work/dns"
	printf '$SOA 60 ns.bl.test. hostmaster.bl.test. 1 600 300 86400 60\n$NS 60 ns.bl.test.\n:127.0.0.2:Listed\n127.0.0.2\n' >"$work/dns/bl.zone"
	printf '$SOA 60 ns.uri.test. hostmaster.uri.test. 1 600 300 86400 60\n$NS 60 ns.uri.test.\n:127.0.1.2:Listed\ntest\n' >"$work/dns/uri.zone"
	rbldnsd -n -b "$HOST/$DNS_PORT" -w "$work/dns" -t 60 bl.test:ip4set:bl.zone uri.test:dnset:uri.zone >>"$out/rbldnsd.log" 2>&1 &
	dns_pid=$!
	sleep 0.5
	kill -0 "$dns_pid" 2>/dev/null || die "rbldnsd did not start: $(cat "$out/rbldnsd.log")"
	cat >>"$work/relayguard.toml" <<EOF
[dns]
servers = ["$HOST:$DNS_PORT"]
[[dnsbl]]
zone = "bl.test"
weight = 6.0
[[uribl]]
zone = "uri.test"
weight = 6.0
EOF
	echo "== DNS: rbldnsd on $HOST:$DNS_PORT answers bl.test (DNSBL) and uri.test (URIBL); other names refused"
else
	echo "== DNS: no local DNS server (rbldnsd not installed, or PERF_DNS=0): the DNS checks fail fast or time out"
fi

compare=      # what the second relayguard differs by, when there is one
compare_toml= # its configuration, when not the plain one
if [[ -n ${PERF_COMPARE:-} ]]; then
	[[ -r $PERF_COMPARE ]] || die "PERF_COMPARE: cannot read $PERF_COMPARE"
	compare_toml=$work/compare.toml
	{ cat "$work/relayguard.toml"; sed "s#@WORK@#$work#g" "$PERF_COMPARE"; } >"$compare_toml"
	"$work/relayguard" config check "$compare_toml" >/dev/null || die "PERF_COMPARE: $PERF_COMPARE does not make a valid configuration"
	compare=$(basename "$PERF_COMPARE")
fi
if [[ -n ${PERF_COMPARE_ENV:-} ]]; then
	compare="$compare${compare:+ }${PERF_COMPARE_ENV}"
fi

# start_relayguard [CONFIG [BINARY]]: the plain configuration and build
# unless told.
start_relayguard() {
	# shellcheck disable=SC2086 # rg_env is VAR=VALUE words by design
	env ${rg_env:-} "${2:-$work/relayguard}" serve -config "${1:-$work/relayguard.toml}" >>"$out/relayguard.log" 2>&1 &
	rg_pid=$!
	wait_port $HOST "$RG_PORT" "$rg_pid" || die "relayguard did not start; see $out/relayguard.log: $(tail -5 "$out/relayguard.log")"
}

stop_relayguard() {
	stop "$rg_pid"
	rg_pid=
}

# load_other NAME CONFIG BINARY ENV [smtpload flags]: one run (as load)
# of another relayguard, CONFIG and BINARY as start_relayguard takes
# them and ENV its VAR=VALUE words, then the plain one again.
load_other() {
	local name=$1 config=$2 binary=$3 env=$4
	shift 4
	stop_relayguard
	rg_env=$env start_relayguard "$config" "$binary"
	hop_pid=$rg_pid load "$name" "$HOST:$RG_PORT" "$N" "$C" "$@"
	stop_relayguard
	start_relayguard
}

# wait_idle: with PERF_WAIT_IDLE=SECONDS, wait up to that long for other
# work on the machine to stop (under 10% of it busy for 2 s), since other
# processes take CPU from what is measured. Reports how busy it was.
wait_idle() {
	local deadline=$((SECONDS + ${PERF_WAIT_IDLE:-0})) b0 b1 pct
	while :; do
		b0=$(machine_busy)
		sleep 2
		b1=$(machine_busy)
		pct=$(awk -v a="$b0" -v b="$b1" -v c="$(nproc)" 'BEGIN {printf "%.0f", 100*(b-a)/(2*c)}')
		if ((pct < 10 || SECONDS >= deadline)); then
			echo "   machine busy before the round: $pct%"
			return
		fi
	done
}

failed=0
# load NAME ADDR N C [extra smtpload flags]: one run, its JSON in $out/NAME.json.
load() {
	local name=$1 addr=$2 n=$3 c=$4 rc=0 busy0 sink0 hop0
	shift 4
	busy0=$(machine_busy) sink0=$(cpu_seconds "$sink_pid") hop0=$(cpu_seconds "$hop_pid")
	# In the background, so a signal to this script is handled at once.
	"$work/smtpload" -json -addr "$addr" -n "$n" -c "$c" -max-time "$MAX_TIME" \
		-timeout 60s "$@" >"$out/$name.json" 2>"$out/$name.err" &
	load_pid=$!
	wait "$load_pid" || rc=$?
	load_pid=
	if [[ ! -s $out/$name.json ]]; then
		die "$name: smtpload gave no report: $(cat "$out/$name.err")"
	fi
	printf '%-14s %9.1f msgs/s  p50 %7.2f ms  p99 %7.2f ms  accepted %s rejected %s unexpected %s\n' \
		"$name" "$(field "$out/$name.json" msgs_per_sec)" \
		"$(field "$out/$name.json" p50)" "$(field "$out/$name.json" p99)" \
		"$(field "$out/$name.json" accepted)" "$(field "$out/$name.json" rejected)" \
		"$(field "$out/$name.json" unexpected)"
	# Where the CPU went: per message in each process, and what other
	# processes on the machine took (a busy machine skews the numbers).
	awk -v n="$(field "$out/$name.json" attempted)" -v el="$(field "$out/$name.json" elapsed_sec)" \
		-v ldcpu="$(field "$out/$name.json" cpu_sec)" -v cores="$(nproc)" -v cpufile="$out/$name.cpu" \
		-v sink="$(awk -v a="$sink0" -v b="$(cpu_seconds "$sink_pid")" 'BEGIN {print b-a}')" \
		-v rg="$(awk -v a="$hop0" -v b="$(cpu_seconds "$hop_pid")" 'BEGIN {print b-a}')" \
		-v busy="$(awk -v a="$busy0" -v b="$(machine_busy)" 'BEGIN {print b-a}')" 'BEGIN {
		other = busy - ldcpu - sink - rg; if (other < 0) other = 0
		printf "               CPU per message: hop %.0f us, sink %.0f us, smtpload %.0f us; other processes %.0f%% of the machine\n",
			rg/n*1e6, sink/n*1e6, ldcpu/n*1e6, 100*other/(el*cores)
		printf "hop_us %.1f\nsink_us %.1f\nsmtpload_us %.1f\nother_pct %.1f\n",
			rg/n*1e6, sink/n*1e6, ldcpu/n*1e6, 100*other/(el*cores) > cpufile
	}'
	if ((rc != 0)); then
		echo "               smtpload exit $rc: $(tr '\n' ' ' <"$out/$name.err")"
		grep -o '"examples":{[^}]*}' "$out/$name.json" | sed 's/^/               /' || true
		failed=1
	fi
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(go version | cut -d' ' -f3-)"
echo "== load: N=$N C=$C S=$S bytes, $RUNS rounds; GTUBE N=$GTUBE_N; memory run C=$RSS_C N=$RSS_N"

"$work/smtpsink" -listen "$HOST:$SINK_PORT" >>"$out/smtpsink.log" 2>&1 &
sink_pid=$!
wait_port $HOST "$SINK_PORT" "$sink_pid" || die "smtpsink did not start: $(cat "$out/smtpsink.log")"
if command -v haproxy >/dev/null; then
	port_open $HOST "$HA_PORT" && die "port $HOST:$HA_PORT is already in use"
	printf 'global\n\tmaxconn 2000\ndefaults\n\tmode tcp\n\ttimeout connect 5s\n\ttimeout client 120s\n\ttimeout server 120s\nlisten smtp\n\tbind %s:%s\n\tserver sink %s:%s\n' \
		"$HOST" "$HA_PORT" "$HOST" "$SINK_PORT" >"$work/haproxy.cfg"
	haproxy -db -f "$work/haproxy.cfg" >>"$out/haproxy.log" 2>&1 &
	ha_pid=$!
	wait_port $HOST "$HA_PORT" "$ha_pid" || die "haproxy did not start: $(cat "$out/haproxy.log")"
	echo "== peer: $(haproxy -v | head -1 | cut -d' ' -f1-3) in TCP mode, one hop to the sink"
else
	echo "== peer: haproxy is not installed (apt-get install haproxy); its runs are skipped"
fi
start_relayguard

if [[ $LOADS == *replay* ]]; then
	[[ -d ${PERF_REPLAY:-} ]] || die "PERF_REPLAY: not a folder: ${PERF_REPLAY:-}"
	# Replay what RFC 5322 allows (lines of at most 998 characters): a
	# longer line is refused by any SMTP server (relayguard's
	# max_line_length, the sink's), which would count as failures of the
	# path rather than measure it.
	mkdir -p "$work/replay"
	kept=0 skipped=0
	while IFS= read -r -d '' f; do
		if LC_ALL=C awk 'length($0) > 999 { exit 1 }' "$f"; then
			cp "$f" "$work/replay/$kept.eml"
			kept=$((kept + 1))
		else
			skipped=$((skipped + 1))
		fi
	done < <(find "$PERF_REPLAY" -type f ! -name '.*' -print0 | sort -z)
	echo "== replay: $kept messages of $PERF_REPLAY ($skipped left out for lines over 998 characters)"
fi

# load_args LOAD: smtpload's flags for a load.
load_args() {
	case $1 in
	text) echo "-s $S" ;;
	mime) echo "-replay cmd/smtpload/testdata/mime-5k.eml" ;;
	pipe) echo "-replay cmd/smtpload/testdata/mime-5k.eml -pipeline" ;;
	replay) echo "-replay $work/replay -rejects-expected" ;;
	*) die "PERF_LOADS: unknown load $1 (text, mime, pipe, replay)" ;;
	esac
}

for r in $(seq "$RUNS"); do
	wait_idle
	echo "-- round $r"
	for L in $LOADS; do
		args=$(load_args "$L")
		# shellcheck disable=SC2086 # args are words by design
		hop_pid='' load "direct.$L.$r" "$HOST:$SINK_PORT" "$N" "$C" $args
		if [[ -n $ha_pid ]]; then
			hop_pid=$ha_pid load "haproxy.$L.$r" "$HOST:$HA_PORT" "$N" "$C" $args
		fi
		hop_pid=$rg_pid load "relayguard.$L.$r" "$HOST:$RG_PORT" "$N" "$C" $args
		if [[ -n $compare ]]; then
			load_other "compare.$L.$r" "$compare_toml" "" "${PERF_COMPARE_ENV:-}" $args
		fi
		if [[ ${PERF_BARE:-0} == 1 ]]; then
			load_other "bare.$L.$r" "" "$work/relayguard-bare" "RELAYGUARD_PERF_CHECKS=${PERF_BARE_CHECKS:-}" $args
		fi
	done
	hop_pid=$rg_pid load "gtube.$r" "$HOST:$RG_PORT" "$GTUBE_N" "$C" -s "$S" -gtube 1
	g=$(field "$out/gtube.$r.json" gtube) gr=$(field "$out/gtube.$r.json" gtube_rejected)
	if [[ $g != "$gr" ]]; then
		echo "               only $gr of $g GTUBE messages were rejected"
		failed=1
	fi
done
echo "   relayguard after the C=$C rounds: VmHWM $(vm "$rg_pid" VmHWM) MB, VmRSS $(vm "$rg_pid" VmRSS) MB"
# Which checks ran on the relayed messages, from relayguard's own metrics
# (relayguard_check_seconds): nothing is switched off for the benchmark.
# A check that does not apply to this client (SPF, the DNSBL, rDNS and
# HELO judge strangers, not a relay network) runs and returns at once.
if command -v curl >/dev/null; then
	echo "   checks run by this relayguard (since its last start): name, runs, mean time"
	curl -fsS "http://$HOST:$METRICS_PORT/metrics" | awk '
		/^relayguard_check_seconds_sum/ { match($0, /check="[^"]*"/); k = substr($0, RSTART+7, RLENGTH-8); sum[k] = $NF }
		/^relayguard_check_seconds_count/ { match($0, /check="[^"]*"/); k = substr($0, RSTART+7, RLENGTH-8); cnt[k] = $NF }
		END { for (k in cnt) if (cnt[k] > 0) printf "     %-12s %9d  %8.1f us\n", k, cnt[k], 1e6*sum[k]/cnt[k] }' | sort
fi
stop_relayguard

# Peak memory per load (text and mime of PERF_LOADS; a replay's messages
# differ in size run to run, pipe is mime's message), each on a fresh
# relayguard.
hwm=
for L in $LOADS; do
	[[ $L == replay || $L == pipe ]] && continue
	echo "-- memory: fresh relayguard, $RSS_C concurrent sessions, $L load"
	start_relayguard
	echo "   relayguard idle: VmRSS $(vm "$rg_pid" VmRSS) MB"
	# shellcheck disable=SC2046 # load_args gives words by design
	hop_pid=$rg_pid load "rss.$L" "$HOST:$RG_PORT" "$RSS_N" "$RSS_C" $(load_args "$L")
	echo "   relayguard peak: VmHWM $(vm "$rg_pid" VmHWM) MB"
	hwm="$hwm${hwm:+, }$L $(vm "$rg_pid" VmHWM) MB"
	stop_relayguard
done

med() { for f in "$out/$1".*.json; do field "$f" "$2"; done | median; }
medcpu() { for f in "$out/$1".*.cpu; do awk -v k="$2" '$1==k {print $2}' "$f"; done | median; }
echo
echo "== medians of $RUNS rounds (C=$C, N=$N; text bodies S=$S bytes)"
echo "ratio: msgs/s against direct to the sink in the same round; CPU: of the hop (HAProxy, relayguard) per message"
printf '| %-8s | %-28s | %10s | %6s | %8s | %8s | %8s |\n' "load" "path" "msgs/s" "ratio" "p50 ms" "p99 ms" "CPU us"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "----------" "------------------------------" "------------" "--------" "----------" "----------" "----------"
row() { # LOAD RUN LABEL
	local v d cpu=-
	v=$(med "$2.$1" msgs_per_sec) d=$(med "direct.$1" msgs_per_sec)
	[[ $2 != direct ]] && cpu=$(medcpu "$2.$1" hop_us)
	printf '| %-8s | %-28s | %10.1f | %6.3f | %8.2f | %8.2f | %8s |\n' "$1" "$3" "$v" \
		"$(awk -v v="$v" -v d="$d" 'BEGIN {print v/d}')" "$(med "$2.$1" p50)" "$(med "$2.$1" p99)" "$cpu"
}
for L in $LOADS; do
	row "$L" direct "direct to sink"
	if [[ -n $ha_pid ]]; then row "$L" haproxy "HAProxy (TCP)"; fi
	row "$L" relayguard "relayguard"
	if [[ -n $compare ]]; then row "$L" compare "relayguard + $compare"; fi
	if [[ ${PERF_BARE:-0} == 1 ]]; then row "$L" bare "relayguard, checks: ${PERF_BARE_CHECKS:-none}"; fi
done
# The sink is go-smtp's server and smtpload go-smtp's client: in the direct
# runs their CPU per message is what the two ends of any relay built on
# go-smtp cost before it judges anything.
for L in $LOADS; do
	printf 'go-smtp ends in the direct %s runs: server (the sink) %s us, client (smtpload) %s us of CPU per message\n' \
		"$L" "$(medcpu "direct.$L" sink_us)" "$(medcpu "direct.$L" smtpload_us)"
done
printf 'GTUBE rejected by relayguard: %.1f msgs/s, p50 %.2f ms, p99 %.2f ms, %s us CPU per message\n' \
	"$(med gtube msgs_per_sec)" "$(med gtube p50)" "$(med gtube p99)" "$(medcpu gtube hop_us)"
if [[ -n $compare ]]; then
	for L in $LOADS; do
		awk -v L="$L" -v t="$(med "relayguard.$L" msgs_per_sec)" -v c="$(med "compare.$L" msgs_per_sec)" \
			-v tc="$(medcpu "relayguard.$L" hop_us)" -v cc="$(medcpu "compare.$L" hop_us)" \
			-v what="$compare" \
			'BEGIN {printf "%s with %s: throughput %+.1f%%, relayguard CPU per message %.0f -> %.0f us (%+.1f%%)\n", L, what, 100*(c-t)/t, tc, cc, 100*(cc-tc)/tc}'
	done
fi
first=${LOADS%% *}
echo "other processes took $(medcpu "direct.$first" other_pct)% / $(medcpu "relayguard.$first" other_pct)% of the machine in the direct / relayguard runs ($first)"
echo "peak RSS at $RSS_C concurrent sessions: $hwm (target < 64 MB)"
[[ -n ${PERF_OUT:-} ]] && echo "reports and logs in $out"
if ((failed)); then
	echo "perf.sh: some runs had unexpected failures (see above)" >&2
	exit 1
fi

#!/usr/bin/env bash
# perf-growth.sh: how relayguard's cost grows with message size and with
# concurrent sessions (docs/performance.md, "How cost grows").
#
# For each body size (1 KB to 20 MB, C=4) and each number of concurrent
# sessions (1 to 1,000, 5 KB bodies), a fresh relayguard relays smtpload's
# messages to smtpsink on loopback; the script prints relayguard's CPU per
# message (and per MB) and its peak RSS (VmHWM). Then, offline with
# `relayguard check --local` (500 messages, start-up subtracted), the cost
# against the number of links in the 5 KB MIME message (8, 100, 1,000) and
# against the number of operator rules (0 to 2,000 generated regex rules,
# half body, half Subject). Every process it starts is stopped on exit.
# About 6 minutes on 2 cores; needs python3 for the generated inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) == 0 ]]; then
	export RELAYGUARD_ALLOW_ROOT=1 # loopback only; see README, "Installing as a service"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/relayguard-growth.XXXXXX")
sink_pid= rg_pid=
cleanup() {
	for p in $rg_pid $sink_pid; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $rg_pid $sink_pid; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/relayguard" ./cmd/relayguard
go build -o "$work/smtpsink" ./cmd/smtpsink
go build -o "$work/smtpload" ./cmd/smtpload
HZ=$(getconf CLK_TCK)
cat >"$work/rg.toml" <<EOF
[server]
listen = "127.0.0.1:2535"
hostname = "relayguard.test"
max_connections = 1200
max_connections_per_ip = 1200
max_message_bytes = 26214400
[relay]
upstream = "127.0.0.1:2536"
starttls = "off"
[store]
dir = "$work/store"
EOF
"$work/smtpsink" -listen 127.0.0.1:2536 -max-size 30000000 >"$work/sink.log" 2>&1 &
sink_pid=$!
sleep 0.5

# run LABEL SIZE N C: one fresh relayguard, one load, one line.
run() {
	local label=$1 size=$2 n=$3 c=$4 cpu
	"$work/relayguard" serve -config "$work/rg.toml" >>"$work/rg.log" 2>&1 &
	rg_pid=$!
	for _ in $(seq 50); do
		(exec 3<>/dev/tcp/127.0.0.1/2535) 2>/dev/null && break
		sleep 0.1
	done
	"$work/smtpload" -addr 127.0.0.1:2535 -n "$n" -c "$c" -s "$size" -json -timeout 300s >"$work/load.json" 2>"$work/load.err" || true
	cpu=$(awk -v hz="$HZ" '{print ($14+$15)/hz}' "/proc/$rg_pid/stat")
	awk -v l="$label" -v n="$n" -v size="$size" -v cpu="$cpu" -v hwm="$(awk '$1=="VmHWM:" {print $2/1024}' "/proc/$rg_pid/status")" \
		-v ok="$(grep -o '"accepted":[0-9]*' "$work/load.json" | cut -d: -f2)" \
		'BEGIN {printf "| %-22s | %6d | %6s | %10.0f | %9.0f | %8.1f |\n", l, n, ok, cpu/n*1e6, cpu/n*1e6/(size/1048576), hwm}'
	kill -TERM "$rg_pid"
	wait "$rg_pid" 2>/dev/null || true
	rg_pid=
	rm -rf "$work/store"
}

echo "| run                    |      N | accepted | CPU µs/msg | CPU µs/MB | VmHWM MB |"
echo "|---|---:|---:|---:|---:|---:|"
for spec in 1024:4000 10240:4000 102400:2000 1048576:300 5242880:60 20971520:16; do
	run "size $((${spec%%:*} / 1024)) KB, C=4" "${spec%%:*}" "${spec##*:}" 4
done
for c in 1 10 100 1000; do
	run "5 KB, C=$c" 5120 $((c < 100 ? 3000 : c * 5)) "$c"
done

echo
echo "offline, relayguard check --local, 500 messages each:"
python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
base = open("cmd/smtpload/testdata/mime-5k.eml", newline="").read()
for n in (8, 100, 1000):
    links = "".join('<a href=3D"https://shop%d.example-%d.com/p/%d">item %d</a>=\r\n ' % (i % 50, i % 7, i, i) for i in range(n))
    m = base.replace("<p>Kind regards,", "<p>" + links + "</p>\r\n<p>Kind regards,", 1)
    for k in range(50):
        open("%s/links%d-%d.eml" % (work, n, k), "w", newline="").write(m.replace("NW-2026-118204", "NW-2026-%06d" % k))
for n in (0, 100, 500, 2000):
    with open("%s/rules%d.toml" % (work, n), "w") as f:
        for i in range(n):
            kind = "body" if i % 2 == 0 else "header"
            f.write('[[rule]]\nname = "LOCAL_R%d"\nkind = "%s"\n' % (i, kind))
            if kind == "header":
                f.write('header = "Subject"\n')
            f.write("pattern = '(?i)\\bword%d\\s+other%d\\b'\nscore = 0.5\ndescription = \"generated rule %d\"\n\n" % (i, i, i))
    with open("%s/c%d.toml" % (work, n), "w") as f:
        f.write("[rules]\nfiles = [%s]\n" % ('"%s/rules%d.toml"' % (work, n) if n else ""))
PY
# per_message CONFIG GLOB: CPU µs per message of check over 10 x the files,
# less one run over a single file (start-up, rule compilation).
per_message() {
	local one all files=()
	for _ in $(seq 10); do files+=("$work"/$2); done
	one=$( { /usr/bin/time -f "%U %S" "$work/relayguard" check --local -j 1 -config "$1" "${files[0]}" >/dev/null; } 2>&1 | tail -1 | awk '{print $1+$2}')
	all=$( { /usr/bin/time -f "%U %S" "$work/relayguard" check --local -j 1 -config "$1" "${files[@]}" >/dev/null; } 2>&1 | tail -1 | awk '{print $1+$2}')
	awk -v a="$one" -v b="$all" -v n="${#files[@]}" 'BEGIN {printf "%.0f", (b-a)/(n-1)*1e6}'
}
for n in 8 100 1000; do
	echo "  $n links: $(per_message "$work/c0.toml" "links$n-*.eml") us/msg"
done
for n in 0 100 500 2000; do
	echo "  +$n operator rules: $(per_message "$work/c$n.toml" "links8-*.eml") us/msg"
done

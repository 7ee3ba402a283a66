#!/bin/sh
# peers.sh HAM SPAM: score a ham and a spam folder with SpamAssassin's and
# rspamd's stock rules, offline, for corpusreport's -input scores.
#
# Writes "NAME SCORE" lines to $OUT (default /tmp/peers):
#   sa-ham.txt sa-spam.txt rspamd-ham.txt rspamd-spam.txt
# and prints the corpusreport table row of each filter.
#
# Needs root and `apt-get install -y spamassassin spamc rspamd` (Debian 12).
# Nothing under /etc is changed: both daemons run on loopback from private
# configuration copies in a temporary folder and are stopped at the end.
#
# SpamAssassin: spamd -L (local tests only), Bayes, Razor, Pyzor and DNS off.
# rspamd: stock rules with every network module off and no Redis (so no
# Bayes, fuzzy, neural or reputation); DNS goes to a responder on loopback
# that answers REFUSED at once, so nothing waits on a timeout.
#
# Ports (override if taken): SA_PORT 7830, RSPAMD_PORT 11433 (and the two
# above it for rspamd's controller and proxy), DNS_PORT 5354.
#
# This is a report, not a test dependency: the tests never run it.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 HAM SPAM" >&2
	exit 2
fi
HAM=$(cd "$1" && pwd)
SPAM=$(cd "$2" && pwd)
OUT=${OUT:-/tmp/peers}
SA_PORT=${SA_PORT:-7830}
RSPAMD_PORT=${RSPAMD_PORT:-11433}
DNS_PORT=${DNS_PORT:-5354}
JOBS=${JOBS:-2}
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/scripts/rspamd-private.sh"
mkdir -p "$OUT"
WORK=$(mktemp -d)
chmod 755 "$WORK"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# ---- SpamAssassin
mkdir "$WORK/sa"
cp -r /etc/spamassassin/. "$WORK/sa/"
cat > "$WORK/sa/99_peers.cf" <<'CF'
use_bayes 0
bayes_auto_learn 0
skip_rbl_checks 1
use_razor2 0
use_pyzor 0
dns_available no
CF
chmod -R a+rX "$WORK/sa"
spamd -L -s stderr -m "$JOBS" -i 127.0.0.1 -p "$SA_PORT" -u nobody --siteconfigpath="$WORK/sa" \
	-r "$WORK/spamd.pid" >"$WORK/spamd.log" 2>&1 &
PIDS="$PIDS $!"
i=0
sa_ready() {
	# -x: fail instead of answering 0/0 when spamd is not there; -c
	# exits 0 for ham and 1 for spam.
	rc=0
	printf 'Subject: ping\n\nping\n' | spamc -x -p "$SA_PORT" -c >/dev/null 2>&1 || rc=$?
	[ $rc -le 1 ]
}
until sa_ready; do
	i=$((i + 1))
	[ $i -gt 120 ] && { echo "spamd did not start:" >&2; cat "$WORK/spamd.log" >&2; exit 1; }
	sleep 1
done
for set in ham spam; do
	dir=$HAM
	[ $set = spam ] && dir=$SPAM
	# spamc -c prints "SCORE/REQUIRED" and exits 1 for spam: not an error.
	find "$dir" -type f | sort | xargs -P "$JOBS" -I{} sh -c \
		'printf "%s %s\n" "{}" "$(spamc -x -p '"$SA_PORT"' -c < "{}" || true)"' > "$OUT/sa-$set.txt"
done
kill "$(cat "$WORK/spamd.pid")" 2>/dev/null || true

# ---- rspamd
refusing_dns "$DNS_PORT" "$WORK/dns.log"
PIDS="$PIDS $!"
mkdir -p "$WORK/rspamd/local.d" "$WORK/rspamd/override.d" "$WORK/rspamd-db" "$WORK/rspamd-run"
cp -r /etc/rspamd/. "$WORK/rspamd/"
L="$WORK/rspamd/local.d"
rspamd_private_overlay "$L" "$DNS_PORT" "$RSPAMD_PORT" "$JOBS" "$WORK"
chown -R _rspamd:_rspamd "$WORK/rspamd-db" "$WORK/rspamd-run"
chmod 777 "$WORK"
chmod -R a+rX "$WORK/rspamd"
rspamd -f -u _rspamd -g _rspamd -c "$WORK/rspamd/rspamd.conf" -p "$WORK/rspamd-run/rspamd.pid" \
	--var=DBDIR="$WORK/rspamd-db" --var=RUNDIR="$WORK/rspamd-run" --var=LOCAL_CONFDIR="$WORK/rspamd" \
	--var=CONFDIR="$WORK/rspamd" >"$WORK/rspamd.out" 2>&1 &
PIDS="$PIDS $!"
i=0
until rspamc -h "127.0.0.1:$RSPAMD_PORT" stat >/dev/null 2>&1 || echo | rspamc -h "127.0.0.1:$RSPAMD_PORT" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 60 ] && { echo "rspamd did not start:" >&2; cat "$WORK/rspamd.out" "$WORK/rspamd.log" >&2 2>/dev/null; exit 1; }
	sleep 1
done
for set in ham spam; do
	dir=$HAM
	[ $set = spam ] && dir=$SPAM
	rspamc -h "127.0.0.1:$RSPAMD_PORT" -n "$((JOBS * 2))" "$dir" |
		awk '/^Results for file:/{f=$4} /^Score:/{print f, $2}' > "$OUT/rspamd-$set.txt"
done

# ---- the table rows
cd "$REPO"
go run ./cmd/corpusreport -input scores -markdown -name "SpamAssassin $(spamassassin -V | awk 'NR==1{print $3}') (required 5)" -add-header 5 "$OUT/sa-ham.txt" "$OUT/sa-spam.txt"
go run ./cmd/corpusreport -input scores -markdown -name "rspamd $(rspamd -v | awk '{print $4}') (add_header 6)" "$OUT/rspamd-ham.txt" "$OUT/rspamd-spam.txt"

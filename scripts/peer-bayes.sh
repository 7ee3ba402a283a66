#!/bin/bash
# peer-bayes.sh [OLD_HAM OLD_SPAM MODERN_HAM MODERN_SPAM]
#
# SpamAssassin's and rspamd's Bayes classifiers, trained and tested on the
# same cross-validation folds as relayguard's (corpusreport -bayes), so the
# three can be put in one table measured the same day.
#
# The folders default to ../shared/corpus/{ham,spam,modern/ham,modern/spam}
# beside the repository (the 2002 and the 2019-2024 era). For each era, the
# messages are split into 5 folds by `corpusreport -write-folds` (the
# function -bayes uses: the i-th file in name order is in fold i mod 5);
# each peer learns 4 folds into an empty database and scores the fifth.
# Across eras it learns all of one era and scores all of the other.
#
# SpamAssassin: sa-learn --spam/--ham into a private Bayes database
# (--dbpath), then spamd -L (local tests only; Bayes on, autolearn off,
# DNS, RBL, Razor, Pyzor and DCC off) on loopback scores the held-out
# messages through spamc. The score is the total of its stock rules and
# BAYES_xx.
# rspamd: a private rspamd on loopback with its stock rules, every network
# module off (as scripts/peers.sh), DNS answered REFUSED by a responder on
# loopback, and its Bayes classifier in a private redis-server (FLUSHDB
# between folds; min_learns 10, autolearn off; its default learn condition
# kept). rspamc learn_spam/learn_ham trains, rspamc scores.
#
# Writes under $WORK (default: a new temporary folder, kept):
#   folds/eraN/{ham,spam}-K.txt        the fold lists (era1 = first pair)
#   sa/eraN-{ham,spam}.txt             "PATH SCORE" of every held-out message
#   sa/eraAtoB-{ham,spam}.txt          trained on era A, scored on era B
#   rspamd/...                         the same for rspamd
#   relayguard.txt                     corpusreport -bayes on the same folders
#   table.md                           corpusreport -input scores rows
# A score file already there is kept, so an interrupted run resumes.
#
# Environment: WORK; PEERS (default "sa rspamd"); ERAS (order of the
# within-era runs, default "2 1": the modern era first); CROSS=0 skips the
# cross-era runs; TABLE_ONLY=1 only tables the score files already in
# $WORK (after an interrupted run); SA_PORT 7840, RSPAMD_PORT 11443 (and the two above it),
# REDIS_PORT 6391, DNS_PORT 5364; JOBS 2 (messages scored in parallel).
# Everything runs under nice -n 10: spamd scores 3 to 10 messages/s on a
# busy 2-core machine, so both eras and the cross-era runs take an hour or
# more; rspamd takes a few minutes.
#
# Needs root (the daemons drop to nobody / _rspamd), Go, and
#   apt-get install -y spamassassin spamc rspamd redis-server
# Nothing under /etc is changed. This is a report, not a test: the tests
# never run it, and these packages are not test dependencies.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/scripts/rspamd-private.sh"
if [ $# -eq 0 ]; then
	C=$REPO/../shared/corpus
	set -- "$C/ham" "$C/spam" "$C/modern/ham" "$C/modern/spam"
fi
if [ $# -ne 4 ]; then
	echo "usage: $0 [OLD_HAM OLD_SPAM MODERN_HAM MODERN_SPAM]" >&2
	exit 2
fi
CORPUS=("$@")
WORK=${WORK:-$(mktemp -d /tmp/peer-bayes.XXXXXX)}
PEERS=${PEERS:-sa rspamd}
ERAS=${ERAS:-2 1}
CROSS=${CROSS:-1}
TABLE_ONLY=${TABLE_ONLY:-0}
SA_PORT=${SA_PORT:-7840}
RSPAMD_PORT=${RSPAMD_PORT:-11443}
REDIS_PORT=${REDIS_PORT:-6391}
DNS_PORT=${DNS_PORT:-5364}
JOBS=${JOBS:-2}
NICE="nice -n 10"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
# The daemons run as other users and read and write their databases here.
chmod 755 "$WORK"
RUN=$(mktemp -d "$WORK/run.XXXXXX")
chmod 777 "$RUN"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	mkdir -p "$WORK/logs"
	cp "$RUN"/*.log "$RUN"/*.out "$WORK/logs/" 2>/dev/null || true
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
log() { echo "$(date +%H:%M:%S) $*" >&2; }

(cd "$REPO" && go build -o "$RUN/corpusreport" ./cmd/corpusreport)
"$RUN/corpusreport" -write-folds "$WORK/folds" "${CORPUS[@]}"

# train_list ERA FOLD CLASS: the messages of CLASS learned when FOLD is
# held out (FOLD "all": every fold); test_list ERA FOLD CLASS: the held out.
train_list() {
	local f
	for f in "$WORK/folds/era$1/$3"-*.txt; do
		[ "$2" != all ] && [ "$f" = "$WORK/folds/era$1/$3-$2.txt" ] && continue
		cat "$f"
	done
}
test_list() {
	if [ "$2" = all ]; then cat "$WORK/folds/era$1/$3"-*.txt; else cat "$WORK/folds/era$1/$3-$2.txt"; fi
}

# ---- SpamAssassin
SA_DB=$RUN/sa-db/bayes
sa_setup() {
	mkdir -p "$RUN/sa" "$RUN/sa-db"
	cp -r /etc/spamassassin/. "$RUN/sa/"
	cat >"$RUN/sa/99_peer_bayes.cf" <<-CF
		use_bayes 1
		bayes_auto_learn 0
		bayes_auto_expire 0
		bayes_path $SA_DB
		bayes_file_mode 0777
		skip_rbl_checks 1
		use_razor2 0
		use_pyzor 0
		use_dcc 0
		dns_available no
	CF
	# The same settings as a user prefs file, so sa-learn reads no
	# ~/.spamassassin of whoever runs this.
	cp "$RUN/sa/99_peer_bayes.cf" "$RUN/sa-prefs.cf"
	chmod -R a+rX "$RUN/sa"
	chmod 777 "$RUN/sa-db"
}
sa_learn() { # CLASS LIST
	[ -s "$2" ] || return 0
	$NICE sa-learn -L --siteconfigpath="$RUN/sa" -p "$RUN/sa-prefs.cf" --dbpath "$SA_DB" \
		--no-sync "--$1" -f "$2" >/dev/null
}
sa_train() { # ERA FOLD
	rm -rf "$RUN/sa-db"/*
	train_list "$1" "$2" ham >"$RUN/train-ham"
	train_list "$1" "$2" spam >"$RUN/train-spam"
	sa_learn ham "$RUN/train-ham"
	sa_learn spam "$RUN/train-spam"
	$NICE sa-learn -L --siteconfigpath="$RUN/sa" -p "$RUN/sa-prefs.cf" --dbpath "$SA_DB" --sync >/dev/null
	chmod -R a+rw "$RUN/sa-db"
	log "sa: learned $(sa-learn -p "$RUN/sa-prefs.cf" --dbpath "$SA_DB" --dump magic |
		awk '/nspam/{s=$3} /nham/{h=$3} END{print s " spam, " h " ham"}')"
}
sa_start() {
	rm -f "$RUN/spamd.pid"
	$NICE spamd -L -x -s stderr -m "$JOBS" -i 127.0.0.1 -p "$SA_PORT" -u nobody \
		--siteconfigpath="$RUN/sa" -r "$RUN/spamd.pid" >>"$RUN/spamd.log" 2>&1 &
	SPAMD=$!
	PIDS="$PIDS $SPAMD"
	local i=0 rc
	while :; do
		# -x: fail rather than answer 0/0 when spamd is not there;
		# -c exits 0 for ham and 1 for spam.
		rc=0
		printf 'Subject: ping\n\nping\n' | spamc -x -p "$SA_PORT" -c >/dev/null 2>&1 || rc=$?
		[ $rc -le 1 ] && break
		i=$((i + 1))
		[ $i -gt 120 ] && { echo "spamd did not start:" >&2; cat "$RUN/spamd.log" >&2; exit 1; }
		sleep 1
	done
}
sa_stop() {
	kill "$SPAMD" 2>/dev/null || true
	wait "$SPAMD" 2>/dev/null || true
}
sa_score() { # LIST: "PATH SCORE" lines; spamc -c prints SCORE/REQUIRED
	# and exits 1 for spam, which is not an error.
	xargs -a "$1" -P "$JOBS" -I{} sh -c \
		'printf "%s %s\n" "{}" "$(spamc -x -p '"$SA_PORT"' -c < "{}" || true)"'
}

# ---- rspamd
rspamd_setup() {
	mkdir -p "$RUN/rspamd" "$RUN/rspamd-db" "$RUN/rspamd-run"
	cp -r /etc/rspamd/. "$RUN/rspamd/"
	mkdir -p "$RUN/rspamd/local.d"
	local L=$RUN/rspamd/local.d
	rspamd_private_overlay "$L" "$DNS_PORT" "$RSPAMD_PORT" "$JOBS" "$RUN"
	cat >"$L/classifier-bayes.conf" <<-EOF
		backend = "redis";
		servers = "127.0.0.1:$REDIS_PORT";
		min_learns = 10;
		autolearn = false;
	EOF
	chown -R _rspamd:_rspamd "$RUN/rspamd-db" "$RUN/rspamd-run"
	chmod -R a+rX "$RUN/rspamd"

	redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
		--dir "$RUN" >"$RUN/redis.log" 2>&1 &
	PIDS="$PIDS $!"
	# A resolver that answers REFUSED at once, so nothing waits on a timeout.
	refusing_dns "$DNS_PORT" "$RUN/dns.log"
	PIDS="$PIDS $!"
	$NICE rspamd -f -u _rspamd -g _rspamd -c "$RUN/rspamd/rspamd.conf" -p "$RUN/rspamd-run/rspamd.pid" \
		--var=DBDIR="$RUN/rspamd-db" --var=RUNDIR="$RUN/rspamd-run" --var=LOCAL_CONFDIR="$RUN/rspamd" \
		--var=CONFDIR="$RUN/rspamd" >"$RUN/rspamd.out" 2>&1 &
	PIDS="$PIDS $!"
	local i=0
	until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 &&
		echo | rspamc -h "127.0.0.1:$RSPAMD_PORT" >/dev/null 2>&1 &&
		rspamc -h "127.0.0.1:$((RSPAMD_PORT + 1))" stat >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 300 ] && { echo "rspamd did not start:" >&2; cat "$RUN/rspamd.out" "$RUN/rspamd.log" >&2; exit 1; }
		sleep 1
	done
}
rspamd_learn() { # CLASS LIST
	[ -s "$2" ] || return 0
	# Learn-Type: bulk turns off rspamd's default learn condition, which
	# refuses a message its Bayes already classifies with 95% confidence:
	# with all ham learned first, it would learn only a few dozen spam
	# before refusing the rest. sa-learn learns every message; so does
	# this. rspamc still exits non-zero for a message with too few
	# tokens: counted in the log line, not an error.
	xargs -a "$2" -n 200 $NICE rspamc -h "127.0.0.1:$((RSPAMD_PORT + 1))" -n "$JOBS" \
		--header "Learn-Type: bulk" "learn_$1" \
		>>"$RUN/rspamd-learn.log" 2>&1 || true
}
rspamd_train() { # ERA FOLD
	redis-cli -p "$REDIS_PORT" flushall >/dev/null
	train_list "$1" "$2" ham >"$RUN/train-ham"
	train_list "$1" "$2" spam >"$RUN/train-spam"
	rspamd_learn ham "$RUN/train-ham"
	rspamd_learn spam "$RUN/train-spam"
	log "rspamd: learned $(redis-cli -p "$REDIS_PORT" hget RS learns_spam) spam, $(redis-cli -p "$REDIS_PORT" hget RS learns_ham) ham"
}
rspamd_score() { # LIST
	xargs -a "$1" -n 200 rspamc -h "127.0.0.1:$RSPAMD_PORT" -n "$JOBS" |
		awk '/^Results for file:/{f=$4} /^Score:/{print f, $2}'
}

# ---- the runs
# run PEER TRAIN_ERA FOLD TEST_ERA OUT: train PEER, score the held-out
# messages of TEST_ERA into OUT-{ham,spam}.txt (appended for folds).
run_one() {
	local peer=$1 era=$2 fold=$3 test=$4 out=$5 class
	log "$peer: train era$era without fold $fold, score era$test fold $fold"
	"${peer}_train" "$era" "$fold"
	[ "$peer" = sa ] && sa_start
	for class in ham spam; do
		test_list "$test" "$fold" "$class" >"$RUN/test"
		"${peer}_score" "$RUN/test" >>"$out-$class.txt.part"
	done
	[ "$peer" = sa ] && sa_stop
	return 0
}
for peer in $PEERS; do
	[ "$TABLE_ONLY" = 1 ] && break
	mkdir -p "$WORK/$peer"
	"${peer}_setup"
	for era in $ERAS; do
		out=$WORK/$peer/era$era
		[ -s "$out-spam.txt" ] && continue
		rm -f "$out"-*.part
		for fold in 0 1 2 3 4; do
			run_one "$peer" "$era" "$fold" "$era" "$out"
		done
		for class in ham spam; do mv "$out-$class.txt.part" "$out-$class.txt"; done
	done
	if [ "$CROSS" = 1 ]; then
		for pair in 1:2 2:1; do
			a=${pair%:*} b=${pair#*:}
			out=$WORK/$peer/era${a}to$b
			[ -s "$out-spam.txt" ] && continue
			rm -f "$out"-*.part
			run_one "$peer" "$a" all "$b" "$out"
			for class in ham spam; do mv "$out-$class.txt.part" "$out-$class.txt"; done
		done
	fi
done

# ---- the table: corpusreport's arithmetic for every filter
log "relayguard: corpusreport -bayes"
$NICE "$RUN/corpusreport" -bayes "${CORPUS[@]}" >"$WORK/relayguard.txt"
sa_version=$(spamassassin --version | awk 'NR==1{print $3}')
rspamd_version=$(rspamd --version | awk '{print $4}')
{
	echo "| filter, trained on → tested on | at default add_header: spam / ham | at default reject: spam / ham | FP <= 0.1% | FP <= 1% |"
	echo "|---|---|---|---|---|"
	for peer in $PEERS; do
		if [ "$peer" = sa ]; then
			name="SpamAssassin $sa_version + Bayes"
			th="-add-header 5 -reject 10"
		else
			name="rspamd $rspamd_version + Bayes"
			th="-add-header 6 -reject 15"
		fi
		for set in era1 era2 era1to2 era2to1; do
			[ -s "$WORK/$peer/$set-spam.txt" ] || continue
			"$RUN/corpusreport" -input scores -markdown $th -name "$name, $set" \
				"$WORK/$peer/$set-ham.txt" "$WORK/$peer/$set-spam.txt"
		done
	done
} >"$WORK/table.md"
cat "$WORK/table.md" "$WORK/relayguard.txt"
log "results in $WORK"

#!/usr/bin/env bash
# Runs every test: installs what the integration tests talk to (a real
# Exim, swaks, rbldnsd, an independent DKIM signer) when run as root, then
# vets and runs all tests with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."

# The packages come from scripts/test-deps.txt (a Go test checks that it
# names everything the tests run); "-" marks what does not come from apt.
mapfile -t need < <(awk '!/^#/ && NF >= 4 && $NF != "-" { print $NF }' scripts/test-deps.txt | sort -u)
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# The packages' own daemons are not what the tests use: keep them
		# from starting (no init system needed).
		made_policy=
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
			made_policy=1
		fi
		apt-get install -y -qq "${missing[@]}" >/dev/null
		if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
	else
		echo "not root: integration tests needing ${missing[*]} will skip" >&2
	fi
fi
# Every package is there now: a test that finds a program or a swaks
# capability missing fails instead of skipping, so a gap in the list shows.
if [ ${#missing[@]} -eq 0 ] || [ "$(id -u)" -eq 0 ]; then
	export RELAYGUARD_TEST_DEPS_INSTALLED=1
fi

go vet ./...
go test -race -count=1 "$@" ./...
# The benchmark build of scripts/perf.sh (PERF_BARE): it must still build,
# and keep only the checks it is told to.
go vet -tags perfbare ./cmd/relayguard
go test -count=1 -tags perfbare -run TestPerfbare ./cmd/relayguard

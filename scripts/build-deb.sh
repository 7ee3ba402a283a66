#!/bin/sh
# Builds the Debian package dist/relayguard_VERSION_ARCH.deb: the binary,
# the systemd unit and the default configuration (dist/nfpm.yaml), with
# nfpm run through the Go toolchain, so nothing but Go is needed.
# Usage: scripts/build-deb.sh [OUTPUT_DIR]   (default: dist)
set -eu
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
BUILD=$(mktemp -d)
trap 'rm -rf "$BUILD"' EXIT
export ARCH=$(go env GOARCH)
CGO_ENABLED=0 go build -trimpath -o "$BUILD/relayguard" ./cmd/relayguard
# The version the binary reports ("relayguard 0.1.0 (...)").
export VERSION=$("$BUILD/relayguard" version | awk '{print $2}')
"$BUILD/relayguard" config default > "$BUILD/relayguard.toml"
cp dist/nfpm.yaml dist/relayguard.service dist/deb/postinst dist/deb/prerm dist/deb/postrm LICENSE "$BUILD/"
(cd "$BUILD" && go run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2 package \
	--config nfpm.yaml --packager deb --target "$out/")
ls "$out"/relayguard_*"$VERSION"*_"$ARCH".deb

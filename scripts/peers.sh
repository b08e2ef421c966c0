#!/usr/bin/env bash
# Real peer servers for interop tests and benchmarks (Flume now; Kafka, HDFS,
# an Elasticsearch-API server later). See docs/peers.md.
#
#   scripts/peers.sh fetch <peer>...   copy test/peers/<peer>/pom.xml's runtime jars
#                                      to .peers/<peer>/lib (cached)
#   scripts/peers.sh lib <peer>        print the lib dir (after fetching it)
#   scripts/peers.sh list              print the known peers
#   scripts/peers.sh run <peer> [--port N] [--dir D] [--table name:cf1,cf2]
#                                      start the peer in the foreground (--table:
#                                      hbase tables to create first); prints
#                                      "READY <address>" once it serves, stops
#                                      cleanly on SIGINT/SIGTERM
#
# The cache is keyed on the pom's checksum and the plugin version: a lib dir
# whose stamp matches is kept as is, anything else is fetched again from
# scratch. Parallel callers (go test runs packages at once) serialise on a
# per-peer flock.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS_SRC="$ROOT/test/peers"
PEERS_DIR="${SLUICE_PEERS_DIR:-$ROOT/.peers}"
# Pinned: a bare `dependency:` goal may resolve a plugin that needs a newer Maven.
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

die() { echo "peers.sh: $*" >&2; exit 1; }

stamp_of() { # the cache key for one peer
	local pom="$PEERS_SRC/$1/pom.xml"
	echo "$(sha256sum "$pom" | cut -d' ' -f1) $DEP_PLUGIN"
}

fetch_one() {
	local peer="$1"
	local pom="$PEERS_SRC/$peer/pom.xml"
	[ -f "$pom" ] || die "unknown peer '$peer': no $pom"
	local dir="$PEERS_DIR/$peer" want
	want="$(stamp_of "$peer")"
	mkdir -p "$dir"
	(
		flock 9
		if [ -d "$dir/lib" ] && [ "$(cat "$dir/lib.stamp" 2>/dev/null)" = "$want" ]; then
			exit 0
		fi
		command -v mvn >/dev/null || die "mvn not found: Maven is needed to fetch peer '$peer'"
		echo "peers.sh: fetching $peer jars with Maven into $dir/lib" >&2
		local start=$SECONDS
		rm -rf "$dir/lib" "$dir/lib.tmp" "$dir/lib.stamp"
		# Quiet on success; Maven's whole log on failure.
		if ! mvn -B -ntp -Dstyle.color=never -f "$pom" "$DEP_PLUGIN:copy-dependencies" \
			-DincludeScope=runtime -DoutputDirectory="$dir/lib.tmp" >"$dir/mvn.log" 2>&1; then
			cat "$dir/mvn.log" >&2
			die "mvn failed to fetch peer '$peer' (log: $dir/mvn.log)"
		fi
		mv "$dir/lib.tmp" "$dir/lib"
		echo "$want" >"$dir/lib.stamp"
		echo "peers.sh: $peer: $(ls "$dir/lib" | wc -l) jars, $(du -sh "$dir/lib" | cut -f1), $((SECONDS - start)) s" >&2
	) 9>"$dir/.lock"
}

cmd="${1:-}"
shift || true
case "$cmd" in
fetch)
	[ $# -gt 0 ] || die "usage: peers.sh fetch <peer>..."
	for p in "$@"; do fetch_one "$p"; done
	;;
lib)
	[ $# -eq 1 ] || die "usage: peers.sh lib <peer>"
	fetch_one "$1"
	echo "$PEERS_DIR/$1/lib"
	;;
list)
	for d in "$PEERS_SRC"/*/; do [ -f "$d/pom.xml" ] && basename "$d"; done
	;;
run)
	[ $# -ge 1 ] || die "usage: peers.sh run <peer> [--port N] [--dir D]"
	[ -f "$PEERS_SRC/$1/pom.xml" ] && fetch_one "$1"
	cd "$ROOT"
	# Build first, quietly, so the peer's own output starts clean.
	bin="${PEERS_DIR}/.bin/peer"
	mkdir -p "$(dirname "$bin")"
	go build -o "$bin" ./test/peers/cmd/peer || die "cannot build the peer runner"
	exec "$bin" "$@"
	;;
*)
	die "usage: peers.sh fetch <peer>... | lib <peer> | list | run <peer> [--port N] [--dir D] [--table name:cf1,cf2 (hbase)]"
	;;
esac

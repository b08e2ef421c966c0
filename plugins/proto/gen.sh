#!/bin/sh
# Regenerates plugins/proto/sluice/plugin/v1/*.pb.go from plugin.proto.
# Needs protoc (Debian: apt-get install protobuf-compiler); the Go plugins
# are installed at pinned versions into a temporary GOBIN, not into go.mod.
set -eu
cd "$(dirname "$0")"
gobin=$(mktemp -d)
trap 'rm -rf "$gobin"' EXIT
(cd "$gobin" && GOFLAGS= GOBIN="$gobin" go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.10 &&
	GOFLAGS= GOBIN="$gobin" go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1)
PATH="$gobin:$PATH" protoc -I . --go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative sluice/plugin/v1/plugin.proto

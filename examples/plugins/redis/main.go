// Command redis is an example Sluice plugin: a sink writing events to Redis
// (package redissink). Build it with `make plugins`; see docs/plugins.md.
package main

import (
	"github.com/sluiceio/sluice/examples/plugins/redis/redissink"
	"github.com/sluiceio/sluice/plugins/sdk"
)

func main() { sdk.Serve(redissink.Spec()) }

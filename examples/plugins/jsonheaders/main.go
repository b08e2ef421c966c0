// Command jsonheaders is an example Sluice plugin: an interceptor copying
// fields of a JSON body into headers (package jsonheaders). Build it with
// `make plugins`; see docs/plugins.md.
package main

import (
	"github.com/sluiceio/sluice/examples/plugins/jsonheaders/jsonheaders"
	"github.com/sluiceio/sluice/plugins/sdk"
)

func main() { sdk.Serve(jsonheaders.Spec()) }

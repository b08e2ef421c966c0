// Command sluice runs a Flume-compatible agent from an Apache Flume
// properties file, and offers the tools around it (check, list, docs,
// version).
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

const usage = `sluice: a Flume-compatible ingestion agent

usage:
  sluice agent -n <name> -f <file.conf> [-c <confdir>] [-Dkey=value ...] [--no-reload-conf | -i <seconds>]
  sluice check -n <name> -f <file.conf> [--strict]
  sluice avro-client -H <host> -p <port> [-F <file> | --dirname <dir>] [-R <headerFile>] [-P <rpcProps>]
  sluice list                      component types, their aliases and stability
  sluice docs -o <dir>             write the component reference pages
  sluice version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "agent":
		return cmdAgent(args[1:], stdout, stderr)
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "avro-client":
		return cmdAvroClient(args[1:], stdout, stderr)
	case "list":
		return cmdList(stdout)
	case "docs":
		return cmdDocs(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "Sluice %s (Flume 1.11 compatible)\n", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "sluice: unknown command %q\n\n%s", args[0], usage)
	return 2
}

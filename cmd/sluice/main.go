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
  sluice top <host:port>           live view of a running agent (its monitoring port)
  sluice list                      component types, their aliases and stability
  sluice docs -o <dir>             write the component reference pages
  sluice filechannel salvage --dataDirs <dirs> --checkpointDir <dir>
                                   repair a file channel's damaged log (also: sluice tool FCINTEGRITYTOOL)
  sluice version

sluice <command> --help (or sluice help <command>) prints that command's options.
`

const agentUsage = `usage: sluice agent -n <name> -f <file.conf> [-f <more.conf> ...] [options]

Runs agent <name> of an Apache Flume properties file until SIGINT or SIGTERM,
reloading it when a file changes. Flume's flume-ng agent options work.

  -n, --name <name>           the agent to run: the first part of the file's keys
  -f, --conf-file <file>      the configuration; repeat for more files (later ones override keys)
  -c, --conf <dir>            Flume's configuration directory: plugins are also looked for in <dir>/plugins.d
      --plugins-path <dirs>   directories of plugins (<dir>/<name>/plugin.json), separated by ':' (docs/plugins.md)
  -D<key>=<value>             a system property, for ${sys:key} in the file, and these options:
      -Dflume.root.logger=<LEVEL>,console        log level (TRACE, DEBUG, INFO, WARN, ERROR)
      -Dflume.monitoring.type=http -Dflume.monitoring.port=<port>
                                                 Flume's JSON counters at http://host:port/metrics
      -Dsluice.conf.pollInterval=<duration>      configuration check period finer than -i (500ms)
      -Dsluice.cpuprofile=<file>                 write a CPU profile of the whole run
  -i, --poll-interval <secs>  how often the files are checked for changes (default 30)
      --no-reload-conf        never reload the configuration
      --strict                configuration warnings are errors
  -h, --help                  this help

JVM-only options (-X..., -javaagent..., -C/--classpath, -d/--dryrun) are
accepted and ignored. Exits 0 after a clean shutdown, 1 on a configuration or start error,
2 for usage errors.
`

const checkUsage = `usage: sluice check -n <name> -f <file.conf> [-f <more.conf> ...] [-D<key>=<value> ...] [--strict]

Reads and builds agent <name> as sluice agent would, prints every problem with its key and
file:line, then the graph of sources, channels and sinks; starts nothing. Takes the options of
sluice agent (see sluice agent --help).

  --strict     configuration warnings are errors
  -h, --help   this help

Exits 0 when the configuration has no error, 1 when it has any, 2 for usage errors.
`

const listUsage = `usage: sluice list [--plugins-path <dirs>]

Prints every component type: its kind, name, stability and the Flume class names it answers to;
with --plugins-path, also the types of the plugins found there.
`

const docsUsage = `usage: sluice docs [-o <dir>]

Writes the component reference pages (components.md and one page per component) under <dir>
(default docs).

  -o, --out <dir>   where to write
  -h, --help        this help
`

const versionUsage = `usage: sluice version

Prints Sluice's version.
`

// commandUsage is each command's help, for `sluice <command> --help` and
// `sluice help <command>`.
var commandUsage = map[string]string{
	"agent":       agentUsage,
	"check":       checkUsage,
	"avro-client": avroClientUsage,
	"top":         topUsage,
	"list":        listUsage,
	"docs":        docsUsage,
	"version":     versionUsage,
	"filechannel": filechannelUsage,
	"tool":        toolUsage,
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "-help" }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	// A help flag anywhere after a command prints that command's usage,
	// whatever else is on the line.
	if u, ok := commandUsage[args[0]]; ok {
		for _, arg := range args[1:] {
			if isHelp(arg) {
				fmt.Fprint(stdout, u)
				return 0
			}
		}
	}
	switch args[0] {
	case "agent":
		return cmdAgent(args[1:], stdout, stderr)
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "avro-client":
		return cmdAvroClient(args[1:], stdout, stderr)
	case "top":
		return cmdTop(args[1:], stdout, stderr)
	case "list":
		return cmdList(args[1:], stdout, stderr)
	case "docs":
		return cmdDocs(args[1:], stdout, stderr)
	case "filechannel":
		return cmdFilechannel(args[1:], stdout, stderr)
	case "tool":
		return cmdTool(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		return cmdVersion(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		if len(args) > 1 {
			if u, ok := commandUsage[args[1]]; ok {
				fmt.Fprint(stdout, u)
				return 0
			}
			fmt.Fprintf(stderr, "sluice help: unknown command %q\n\n%s", args[1], usage)
			return 2
		}
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "sluice: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// noArgs refuses arguments to the commands that take none (-h/--help was
// handled by run).
func noArgs(cmd string, args []string, stderr io.Writer) (code int, done bool) {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "sluice %s: unknown option %q\n\n%s", cmd, args[0], commandUsage[cmd])
		return 2, true
	}
	return 0, false
}

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	if code, done := noArgs("version", args, stderr); done {
		return code
	}
	fmt.Fprintf(stdout, "Sluice %s (Flume 1.11 compatible)\n", version)
	return 0
}

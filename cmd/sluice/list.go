package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sluiceio/sluice"
)

func cmdList(args []string, stdout, stderr io.Writer) int {
	var path string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--plugins-path" && i+1 < len(args):
			i++
			path = joinPath(path, args[i])
		case strings.HasPrefix(args[i], "--plugins-path="):
			path = joinPath(path, strings.TrimPrefix(args[i], "--plugins-path="))
		default:
			if code, done := noArgs("list", args[i:], stderr); done {
				return code
			}
		}
	}
	if !registerPlugins(path, "", stderr) {
		return 1
	}
	w := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tTYPE\tSTABILITY\tALIASES")
	for _, s := range sluice.Specs() {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Kind, s.Name, s.Stability, strings.Join(s.Aliases, " "))
	}
	_ = w.Flush()
	return 0
}

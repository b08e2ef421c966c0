package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sluiceio/sluice"
)

func cmdList(args []string, stdout, stderr io.Writer) int {
	if code, done := noArgs("list", args, stderr); done {
		return code
	}
	w := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tTYPE\tSTABILITY\tALIASES")
	for _, s := range sluice.Specs() {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Kind, s.Name, s.Stability, strings.Join(s.Aliases, " "))
	}
	_ = w.Flush()
	return 0
}

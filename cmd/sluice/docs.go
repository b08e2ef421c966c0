package main

import (
	"fmt"
	"io"

	"github.com/sluiceio/sluice/internal/docgen"
)

func cmdDocs(args []string, stdout, stderr io.Writer) int {
	dir := "docs"
	for i := 0; i < len(args); i++ {
		if (args[i] == "-o" || args[i] == "--out") && i+1 < len(args) {
			dir = args[i+1]
			i++
			continue
		}
		fmt.Fprintf(stderr, "sluice docs: unknown option %q\n\n%s", args[i], docsUsage)
		return 2
	}
	if err := docgen.Write(dir); err != nil {
		fmt.Fprintf(stderr, "sluice docs: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote component pages under %s\n", dir)
	return 0
}

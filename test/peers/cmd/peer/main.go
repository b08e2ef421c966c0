// Command peer runs one real peer server in the foreground for a user who
// wants to try an example without a cluster of their own:
//
//	scripts/peers.sh run <peer> [--port N] [--dir D]
//
// It prints one line "READY <address>" once the peer serves, and stops the
// peer cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sluiceio/sluice/test/peers"
)

func main() {
	os.Exit(run())
}

func run() int {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintf(os.Stderr, "usage: peers.sh run <peer> [--port N] [--dir D] [--table name:cf1,cf2 (hbase)]\npeers: %v\n", peers.RunnerNames())
		return 2
	}
	name := os.Args[1]
	fs := flag.NewFlagSet("peer "+name, flag.ContinueOnError)
	port := fs.Int("port", 0, "port to serve on (0: a free one)")
	dir := fs.String("dir", "", "data and log directory (default: a new temporary one, removed at exit)")
	tables := map[string][]string{}
	fs.Func("table", "hbase only: create a table before READY, name:family[,family...] (repeatable)", func(v string) error {
		name, fams, ok := strings.Cut(v, ":")
		if !ok || name == "" || fams == "" {
			return fmt.Errorf("want name:family[,family...], got %q", v)
		}
		tables[name] = strings.Split(fams, ",")
		return nil
	})
	if err := fs.Parse(os.Args[2:]); err != nil {
		return 2
	}
	if len(tables) > 0 && name != "hbase" {
		fmt.Fprintf(os.Stderr, "peer %s: --table is for the hbase peer only\n", name)
		return 2
	}
	o := peers.RunOptions{Port: *port, Dir: *dir, Tables: tables}
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "peer-"+name+"-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(d)
		o.Dir = d
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	r, err := peers.Run(ctx, name, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("READY %s\n", r.Addr)
	if r.Info != "" {
		fmt.Fprintln(os.Stderr, r.Info)
	}
	exited := make(chan error, 1)
	go func() { exited <- r.Wait(context.Background()) }()
	select {
	case <-ctx.Done():
		fmt.Fprintf(os.Stderr, "peer %s: stopping\n", name)
		if err := r.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case err := <-exited:
		fmt.Fprintf(os.Stderr, "peer %s exited by itself: %v\n", name, err)
		return 1
	}
}

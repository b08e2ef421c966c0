package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/sluiceio/sluice/channels/file"
	"github.com/sluiceio/sluice/conf"
)

const filechannelUsage = `usage: sluice filechannel salvage --dataDirs <dir>[,<dir>...] --checkpointDir <dir> [--backupCheckpointDir <dir>]
       sluice filechannel salvage -f <file.conf> -n <agent> [--channel <name>]

Repairs a file channel whose log holds damaged bytes, with the agent stopped. A damaged record
stops the channel (at start, or when a take reads it back) with an error naming the file, the
offset and this command. Salvage keeps every intact record where it is, before the damage and
after it; copies each damaged frame's original bytes to <segment>.damaged-<offset> beside the
segment; replaces the damaged stretch with a record replay passes over; removes its events from
the checkpoints; and prints what was set aside and how many queued events were in it. The
channel then starts normally and delivers everything else. Running it on an undamaged channel
changes nothing.

  --dataDirs, -l <dirs>         the channel's dataDirs, comma-separated
  --checkpointDir <dir>         the channel's checkpointDir
  --backupCheckpointDir <dir>   the channel's backupCheckpointDir, with useDualCheckpoints
  -f, --conf-file <file>        or read them from the agent's configuration (repeatable, as for agent)
  -n, --name <agent>            the agent whose channel it is
      --channel <name>          the file channel (needed when the agent has more than one)
  -h, --help                    this help

Exits 0 when the channel is usable (repaired or undamaged), 1 on an error, 2 for usage errors.
`

const toolUsage = `usage: sluice tool [--conf <dir>] FCINTEGRITYTOOL -l <dir>[,<dir>...] --checkpointDir <dir> [--backupCheckpointDir <dir>]

Flume's flume-ng tool syntax for sluice filechannel salvage, which repairs a file channel's
damaged log (sluice filechannel --help says how). --conf is accepted and ignored; unlike
Flume's tool, the checkpoint directory is needed, to drop damaged events from the checkpoint.
`

func cmdFilechannel(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "salvage" {
		fmt.Fprint(stderr, filechannelUsage)
		return 2
	}
	return cmdSalvage("filechannel salvage", args[1:], stdout, stderr)
}

// cmdTool answers Flume's `flume-ng tool` syntax for the one tool Sluice
// has: --conf is accepted and ignored.
func cmdTool(args []string, stdout, stderr io.Writer) int {
	var rest []string
	tool := ""
	for i := 0; i < len(args); i++ {
		switch {
		case (args[i] == "--conf" || args[i] == "-c") && i+1 < len(args):
			i++
		case strings.HasPrefix(args[i], "--conf="):
		case tool == "" && !strings.HasPrefix(args[i], "-"):
			tool = args[i]
		default:
			rest = append(rest, args[i])
		}
	}
	if !strings.EqualFold(tool, "fcintegritytool") {
		fmt.Fprintf(stderr, "sluice tool: unknown tool %q (Sluice has FCINTEGRITYTOOL)\n\n%s", tool, toolUsage)
		return 2
	}
	return cmdSalvage("tool FCINTEGRITYTOOL", rest, stdout, stderr)
}

func cmdSalvage(name string, args []string, stdout, stderr io.Writer) int {
	cfg := file.DefaultConfig()
	cfg.DataDirs, cfg.CheckpointDir = nil, ""
	var files []string
	var agentName, channel string
	for i := 0; i < len(args); i++ {
		key, val, hasVal := strings.Cut(args[i], "=")
		if !hasVal {
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "sluice %s: %s needs a value\n\n%s", name, key, filechannelUsage)
				return 2
			}
			i++
			val = args[i]
		}
		switch key {
		case "--dataDirs", "-l":
			for _, d := range strings.Split(val, ",") {
				if d = strings.TrimSpace(d); d != "" {
					cfg.DataDirs = append(cfg.DataDirs, d)
				}
			}
		case "--checkpointDir":
			cfg.CheckpointDir = val
		case "--backupCheckpointDir":
			cfg.BackupCheckpointDir, cfg.UseDualCheckpoints = val, true
		case "-f", "--conf-file":
			files = append(files, val)
		case "-n", "--name":
			agentName = val
		case "--channel":
			channel = val
		default:
			fmt.Fprintf(stderr, "sluice %s: unknown option %q\n\n%s", name, key, filechannelUsage)
			return 2
		}
	}
	switch {
	case len(files) > 0 && (len(cfg.DataDirs) > 0 || cfg.CheckpointDir != ""):
		fmt.Fprintf(stderr, "sluice %s: give either the configuration (-f, -n, --channel) or the directories, not both\n\n%s", name, filechannelUsage)
		return 2
	case len(files) > 0:
		var err error
		if cfg, err = channelConfig(files, agentName, channel); err != nil {
			fmt.Fprintf(stderr, "sluice %s: %v\n", name, err)
			return 1
		}
	case len(cfg.DataDirs) == 0 || cfg.CheckpointDir == "":
		fmt.Fprintf(stderr, "sluice %s: --dataDirs and --checkpointDir are required (the channel's own, as in its configuration), or -f, -n and --channel\n\n%s", name, filechannelUsage)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	rep, err := file.Salvage(cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "sluice %s: %v\n", name, err)
		return 1
	}
	w := stdout
	if len(rep.Spans) == 0 && rep.Headers == 0 {
		fmt.Fprintf(w, "no damaged data found; %d events in the channel\n", rep.Events)
	}
	for _, s := range rep.Spans {
		fmt.Fprintf(w, "set aside %s\n", s.Describe())
	}
	if rep.Headers > 0 {
		fmt.Fprintf(w, "segment headers rewritten: %d\n", rep.Headers)
	}
	if len(rep.Spans) > 0 || rep.Headers > 0 {
		fmt.Fprintf(w, "intact records kept in damaged frames: %d\n", rep.RecordsKept)
		lost := fmt.Sprint(rep.EventsLost)
		switch {
		case rep.LostUnknown:
			lost = fmt.Sprintf("unknown, %d counted (a damaged stretch after the checkpoint could not be read record by record: how many events it held is not known)", rep.EventsLost)
		case rep.TakesDamaged:
			lost = fmt.Sprintf("at most %d (a damaged take record: some of these may have been delivered before; the events it took are delivered again)", rep.EventsLost)
		}
		fmt.Fprintf(w, "events lost: %s\n", lost)
		fmt.Fprintf(w, "events in the channel: %d (the next start delivers them)\n", rep.Events)
	}
	for _, t := range rep.Torn {
		fmt.Fprintf(w, "%s ends in a torn write, left for the channel's start to cut off\n", t)
	}
	return 0
}

// channelConfig reads file channel channel of agent agentName from the
// configuration files, with the defaults the agent would use; channel may
// be empty when the agent has one file channel.
func channelConfig(files []string, agentName, channel string) (*file.Config, error) {
	if agentName == "" {
		return nil, fmt.Errorf("-n <agent> is needed with -f")
	}
	ac, err := conf.Load(files, agentName, nil, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	var found []*conf.Component
	for _, c := range ac.Channels {
		if (c.Type == "file" || c.Type == "org.apache.flume.channel.file.FileChannel") && (channel == "" || c.Name == channel) {
			found = append(found, c)
		}
	}
	switch {
	case len(found) == 0 && channel != "":
		return nil, fmt.Errorf("agent %q has no file channel %q in %s", agentName, channel, strings.Join(files, ", "))
	case len(found) == 0:
		return nil, fmt.Errorf("agent %q has no file channel in %s", agentName, strings.Join(files, ", "))
	case len(found) > 1:
		var names []string
		for _, c := range found {
			names = append(names, c.Name)
		}
		return nil, fmt.Errorf("agent %q has %d file channels (%s): choose one with --channel", agentName, len(found), strings.Join(names, ", "))
	}
	cfg := file.DefaultConfig()
	for _, e := range conf.Decode(cfg, found[0].Props) {
		if !e.Warning {
			return nil, e
		}
	}
	return cfg, nil
}

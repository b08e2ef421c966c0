package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluiceio/sluice/agent"
)

// agentArgs are the options of `flume-ng agent` that Sluice honours.
type agentArgs struct {
	name     string
	files    []string
	confDir  string
	system   map[string]string // -Dkey=value
	strict   bool
	noReload bool
	// pollSeconds is Flume 1.11's -i/--poll-interval (seconds between
	// checks of the configuration; 0 means the default).
	pollSeconds int
	ignored     []string // JVM-only options, reported once
	// pluginsPath is --plugins-path: directories of plugins (plugins.d
	// layouts), separated by ':'.
	pluginsPath string
}

// parseAgentArgs reads Flume's command line: short and long forms
// (-n/--name, -f/--conf-file, -c/--conf), -Dkey=value properties, and JVM
// options that mean nothing here (-X..., -javaagent), which are reported
// rather than refused so existing start scripts keep working.
func parseAgentArgs(args []string) (*agentArgs, error) {
	a := &agentArgs{system: map[string]string{}}
	value := func(i *int, flag string) (string, error) {
		if k := strings.IndexByte(args[*i], '='); k >= 0 && strings.HasPrefix(args[*i], "--") {
			return args[*i][k+1:], nil
		}
		if *i+1 >= len(args) {
			return "", fmt.Errorf("option %s needs a value", flag)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		flag := arg
		if k := strings.IndexByte(arg, '='); k >= 0 && strings.HasPrefix(arg, "--") {
			flag = arg[:k]
		}
		switch {
		case strings.HasPrefix(arg, "-D") && len(arg) > 2:
			kv := arg[2:]
			k, v, _ := strings.Cut(kv, "=")
			a.system[k] = v
		case strings.HasPrefix(arg, "-X") || strings.HasPrefix(arg, "-javaagent"):
			a.ignored = append(a.ignored, arg)
		case flag == "-n" || flag == "--name":
			v, err := value(&i, flag)
			if err != nil {
				return nil, err
			}
			a.name = v
		case flag == "-f" || flag == "--conf-file":
			v, err := value(&i, flag)
			if err != nil {
				return nil, err
			}
			a.files = append(a.files, v)
		case flag == "-c" || flag == "--conf":
			v, err := value(&i, flag)
			if err != nil {
				return nil, err
			}
			a.confDir = v
		case flag == "-i" || flag == "--poll-interval":
			v, err := value(&i, flag)
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("option %s: %q is not a whole number of seconds", flag, v)
			}
			a.pollSeconds = n
		case flag == "--no-reload-conf":
			a.noReload = true
		case flag == "--strict":
			a.strict = true
		case flag == "--plugins-path":
			v, err := value(&i, flag)
			if err != nil {
				return nil, err
			}
			if a.pluginsPath != "" {
				v = a.pluginsPath + ":" + v
			}
			a.pluginsPath = v
		case flag == "-C" || flag == "--classpath":
			v, err := value(&i, flag)
			if err != nil {
				return nil, err
			}
			a.ignored = append(a.ignored, flag+" "+v)
		case flag == "-d" || flag == "--dryrun":
			a.ignored = append(a.ignored, flag)
		default:
			return nil, fmt.Errorf("unknown option %q", arg)
		}
	}
	if a.name == "" {
		return nil, fmt.Errorf("missing agent name: -n <name> (or --name)")
	}
	if len(a.files) == 0 {
		return nil, fmt.Errorf("missing configuration file: -f <file> (or --conf-file)")
	}
	return a, nil
}

// pollIntervalProperty is a Sluice-only -D property taking a Go duration
// ("200ms"), finer than Flume's whole seconds; tests use it.
const pollIntervalProperty = "sluice.conf.pollInterval"

// pollInterval is how often the configuration files are checked; zero means
// never (--no-reload-conf).
func pollInterval(a *agentArgs) (time.Duration, error) {
	if a.noReload {
		return 0, nil
	}
	if v, ok := a.system[pollIntervalProperty]; ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("-D%s: %q is not a positive duration (e.g. 500ms, 10s)", pollIntervalProperty, v)
		}
		return d, nil
	}
	if a.pollSeconds > 0 {
		return time.Duration(a.pollSeconds) * time.Second, nil
	}
	return agent.DefaultPollInterval, nil // Flume: 0 or absent means the default
}

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
)

const topUsage = `usage: sluice top [-i <interval>] [-s name|rate|errors|fill] [-u <user>] [--cacert <file>] <address>

Shows a running agent's components, refreshed live: events per second in and out, totals,
channel fill and errors, and what /health says of each. <address> is the agent's monitoring
port (-Dflume.monitoring.port), as host:port (http) or a URL (https://host:port).

  -i, --interval <d>    refresh period (default 1s)
  -s, --sort <key>      initial order: name (default), rate, errors or fill
  -u, --user <user>     basic authentication user; the password is read from
                        SLUICE_MONITORING_PASSWORD
      --cacert <file>   PEM certificate(s) to trust for https
      --once            print one table (after two samples, for the rates) and exit

Keys: n, r, e, f sort by name, rate, errors, fill; q (or Ctrl-C) quits. When standard output
is not a terminal, top prints one table and exits, as with --once.
`

type topArgs struct {
	addr     string
	interval time.Duration
	sortBy   string
	user     string
	cacert   string
	once     bool
}

func parseTopArgs(args []string) (*topArgs, error) {
	a := &topArgs{interval: time.Second, sortBy: "name"}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		val := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s needs a value", arg)
			}
			i++
			return args[i], nil
		}
		var err error
		switch arg {
		case "-i", "--interval":
			var v string
			if v, err = val(); err == nil {
				a.interval, err = time.ParseDuration(v)
				if err != nil || a.interval < 100*time.Millisecond {
					err = fmt.Errorf("%s %q: want a duration of at least 100ms", arg, v)
				}
			}
		case "-s", "--sort":
			if a.sortBy, err = val(); err == nil && !strings.Contains(" name rate errors fill ", " "+a.sortBy+" ") {
				err = fmt.Errorf("%s %q: want name, rate, errors or fill", arg, a.sortBy)
			}
		case "-u", "--user":
			a.user, err = val()
		case "--cacert":
			a.cacert, err = val()
		case "--once":
			a.once = true
		default:
			if strings.HasPrefix(arg, "-") || a.addr != "" {
				return nil, fmt.Errorf("unknown option %q", arg)
			}
			a.addr = arg
		}
		if err != nil {
			return nil, err
		}
	}
	if a.addr == "" {
		return nil, fmt.Errorf("the agent's monitoring address is missing")
	}
	if !strings.Contains(a.addr, "://") {
		a.addr = "http://" + a.addr
	}
	a.addr = strings.TrimRight(a.addr, "/")
	return a, nil
}

// topSample is one reading of /metrics and /health.
type topSample struct {
	at      time.Time
	metrics map[string]map[string]string
	health  map[string]topHealth // by "KIND.name"
}

type topHealth struct {
	Kind      string `json:"kind"`
	Name      string `json:"component"`
	Healthy   bool   `json:"healthy"`
	Reason    string `json:"reason"`
	LastError string `json:"lastError"`
}

type topClient struct {
	a    *topArgs
	http *http.Client
	pass string
}

func (c *topClient) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.a.addr+path, nil)
	if err != nil {
		return err
	}
	if c.a.user != "" {
		req.SetBasicAuth(c.a.user, c.pass)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("%s%s: authentication refused (-u and SLUICE_MONITORING_PASSWORD)", c.a.addr, path)
	}
	// /health answers 503 with the same JSON when something fails.
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return fmt.Errorf("%s%s: %s", c.a.addr, path, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(v)
}

func (c *topClient) sample(ctx context.Context) (*topSample, error) {
	s := &topSample{at: time.Now(), health: map[string]topHealth{}}
	if err := c.get(ctx, "/metrics", &s.metrics); err != nil {
		return nil, err
	}
	var h struct {
		Components []topHealth `json:"components"`
	}
	if err := c.get(ctx, "/health", &h); err == nil { // an older agent has no /health
		for _, ch := range h.Components {
			s.health[strings.ToUpper(ch.Kind)+"."+ch.Name] = ch
		}
	}
	return s, nil
}

// topRow is one component's line.
type topRow struct {
	key           string
	in, out       float64 // events/s; -1 when it does not apply
	total         int64
	fill          float64 // -1 when not a channel
	errors        int64
	status, error string
}

func num(m map[string]string, k string) int64 {
	n, _ := strconv.ParseInt(m[k], 10, 64)
	return n
}

// topRows turns two samples into rows (rates are over the time between).
func topRows(prev, cur *topSample) []topRow {
	var rows []topRow
	for key, m := range cur.metrics {
		r := topRow{key: key, in: -1, out: -1, fill: -1, status: "ok"}
		rate := func(attr string) float64 {
			if prev == nil || prev.metrics[key] == nil {
				return 0
			}
			d := cur.at.Sub(prev.at).Seconds()
			if d <= 0 {
				return 0
			}
			return max(float64(num(m, attr)-num(prev.metrics[key], attr))/d, 0)
		}
		switch {
		case strings.HasPrefix(key, "SOURCE."):
			r.in, r.total = rate("EventAcceptedCount"), num(m, "EventAcceptedCount")
			r.errors = num(m, "ChannelWriteFail") + num(m, "EventReadFail") + num(m, "GenericProcessingFail")
		case strings.HasPrefix(key, "CHANNEL."):
			r.in, r.out, r.total = rate("EventPutSuccessCount"), rate("EventTakeSuccessCount"), num(m, "ChannelSize")
			r.fill, _ = strconv.ParseFloat(m["ChannelFillPercentage"], 64)
		case strings.HasPrefix(key, "SINK."):
			r.out, r.total = rate("EventDrainSuccessCount"), num(m, "EventDrainSuccessCount")
			r.errors = num(m, "EventWriteFail") + num(m, "ConnectionFailedCount") + num(m, "ChannelReadFail")
		}
		if h, ok := cur.health[key]; ok {
			if !h.Healthy {
				r.status = "FAILING"
				if h.Reason == "not running" {
					r.status = "stopped"
				}
			}
			r.error = h.LastError
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].key < rows[j].key })
	return rows
}

func sortRows(rows []topRow, by string) {
	key := func(r topRow) float64 {
		switch by {
		case "rate":
			return max(r.in, r.out)
		case "errors":
			return float64(r.errors)
		case "fill":
			return r.fill
		}
		return 0
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if by == "name" {
			return rows[i].key < rows[j].key
		}
		return key(rows[i]) > key(rows[j])
	})
}

func fmtRate(v float64) string {
	if v < 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// renderTop writes the table; ansi clears the screen first.
func renderTop(w io.Writer, a *topArgs, rows []topRow, sortBy string, ansi bool) {
	var b strings.Builder
	if ansi {
		b.WriteString("\x1b[H\x1b[2J")
	}
	nl := "\n"
	if ansi {
		nl = "\r\n" // the terminal is raw: no newline translation
	}
	fmt.Fprintf(&b, "sluice top  %s  every %s  sort: %s   (n r e f: sort, q: quit)%s%s", a.addr, a.interval, sortBy, nl, nl)
	fmt.Fprintf(&b, "%-28s %10s %10s %12s %7s %8s  %s%s", "COMPONENT", "IN/s", "OUT/s", "TOTAL/SIZE", "FILL%", "ERRORS", "STATUS", nl)
	var errs []string
	for _, r := range rows {
		fill := "-"
		if r.fill >= 0 {
			fill = strconv.FormatFloat(r.fill, 'f', 1, 64)
		}
		fmt.Fprintf(&b, "%-28s %10s %10s %12d %7s %8d  %s%s", r.key, fmtRate(r.in), fmtRate(r.out), r.total, fill, r.errors, r.status, nl)
		if r.error != "" && r.status != "ok" {
			errs = append(errs, r.key+": "+r.error)
		}
	}
	if len(errs) > 0 {
		b.WriteString(nl + "last errors:" + nl)
		for _, e := range errs {
			b.WriteString("  " + e + nl)
		}
	}
	io.WriteString(w, b.String())
}

func cmdTop(args []string, stdout, stderr io.Writer) int {
	a, err := parseTopArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "sluice top: %v\n\n%s", err, topUsage)
		return 2
	}
	c := &topClient{a: a, http: &http.Client{Timeout: 5 * time.Second}, pass: os.Getenv("SLUICE_MONITORING_PASSWORD")}
	if a.cacert != "" {
		pem, err := os.ReadFile(a.cacert)
		if err != nil {
			fmt.Fprintf(stderr, "sluice top: --cacert: %v\n", err)
			return 1
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintf(stderr, "sluice top: --cacert %s: no PEM certificate in it\n", a.cacert)
			return 1
		}
		c.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out, isFile := stdout.(*os.File)
	live := !a.once && isFile && isatty.IsTerminal(out.Fd())
	prev, err := c.sample(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "sluice top: %v\n", err)
		return 1
	}
	if !live {
		select {
		case <-time.After(a.interval):
		case <-ctx.Done():
			return 0
		}
		cur, err := c.sample(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "sluice top: %v\n", err)
			return 1
		}
		rows := topRows(prev, cur)
		sortRows(rows, a.sortBy)
		renderTop(stdout, a, rows, a.sortBy, false)
		return 0
	}
	keys, restore := readKeys(os.Stdin)
	defer restore()
	fmt.Fprint(stdout, "\x1b[?25l") // hide the cursor
	defer fmt.Fprint(stdout, "\x1b[?25h\r\n")
	sortBy := a.sortBy
	rows := topRows(nil, prev)
	tick := time.NewTicker(a.interval)
	defer tick.Stop()
	for {
		sortRows(rows, sortBy)
		renderTop(stdout, a, rows, sortBy, true)
		select {
		case <-ctx.Done():
			return 0
		case k, ok := <-keys:
			if !ok {
				keys = nil
				continue
			}
			switch k {
			case 'q', 'Q', 3: // 3: Ctrl-C in raw mode
				return 0
			case 'n':
				sortBy = "name"
			case 'r':
				sortBy = "rate"
			case 'e':
				sortBy = "errors"
			case 'f':
				sortBy = "fill"
			}
		case <-tick.C:
			cur, err := c.sample(ctx)
			if err != nil {
				rows = []topRow{{key: "(no answer: " + err.Error() + ")", in: -1, out: -1, fill: -1}}
				continue
			}
			rows, prev = topRows(prev, cur), cur
		}
	}
}

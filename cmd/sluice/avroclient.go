package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/avroipc"
	"github.com/sluiceio/sluice/internal/tlsconf"
)

const avroClientUsage = `usage: sluice avro-client [-H <host> -p <port> | -P <rpcProps>] [-F <file> | --dirname <dir>] [-R <headerFile>]

Sends lines as events to an avro source over Flume's Avro RPC, like flume-ng avro-client:
one event per line, in appendBatch calls of 5 events (or batch-size from -P).

  -H, --host <host>          host name of the avro source
  -p, --port <port>          port of the avro source
  -P, --rpcProps <file>      RPC client properties (hosts, hosts.<h>, batch-size, connect-timeout,
                             request-timeout, compression-type, compression-level, ssl, truststore...);
                             -H and -p are then ignored
  -F, --filename <file>      file to send (default: standard input)
      --dirname <dir>        send every file of a spooling directory, renaming each to
                             <name>.COMPLETED once all its lines were acknowledged
  -R, --headerFile <file>    Java properties file of headers to set on every event
  -h, --help                 this help

On a terminal, stderr shows the events sent so far and the rate; piped, nothing.

Exits 0 when every event was acknowledged OK, 1 when the source cannot be reached or does
not accept a batch (nothing after that batch is sent), 2 for usage errors.
`

// avroClientIn is what the client reads without -F or --dirname.
var avroClientIn io.Reader = os.Stdin

type avroClientArgs struct {
	host, port, props, file, dir, headers string
	help                                  bool
}

func parseAvroClientArgs(args []string) (*avroClientArgs, error) {
	a := &avroClientArgs{}
	opts := map[string]*string{
		"-H": &a.host, "--host": &a.host, "-p": &a.port, "--port": &a.port,
		"-P": &a.props, "--rpcProps": &a.props, "-F": &a.file, "--filename": &a.file,
		"--dirname": &a.dir, "-R": &a.headers, "--headerFile": &a.headers,
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "-h" || arg == "--help" {
			a.help = true
			continue
		}
		name, val, hasVal := strings.Cut(arg, "=")
		if !strings.HasPrefix(arg, "--") {
			name, hasVal = arg, false
		}
		dst, ok := opts[name]
		if !ok {
			return nil, fmt.Errorf("unknown option %q", arg)
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("option %s needs a value", name)
			}
			i++
			val = args[i]
		}
		*dst = val
	}
	if a.help {
		return a, nil
	}
	if a.file != "" && a.dir != "" {
		return nil, errors.New("--filename and --dirname options cannot be used simultaneously")
	}
	if a.props == "" && (a.host == "" || a.port == "") {
		switch {
		case a.host == "" && a.port == "":
			return nil, errors.New("either --rpcProps or both --host and --port must be specified")
		case a.port == "":
			return nil, errors.New("you must specify a port to connect to with --port")
		default:
			return nil, errors.New("you must specify a hostname to connect to with --host")
		}
	}
	return a, nil
}

// rpcClient is the connection and batching the client was configured with.
type rpcClient struct {
	addr  string
	batch int
	opts  avroipc.DialOptions
}

// defaultRPCClient is Flume's RpcClientFactory.getDefaultInstance(host,
// port, 5).
func defaultRPCClient(host, port string) (*rpcClient, error) {
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("invalid port %q", port)
	}
	return &rpcClient{addr: net.JoinHostPort(host, port), batch: 5,
		opts: avroipc.DialOptions{ConnectTimeout: 20 * time.Second, RequestTimeout: 20 * time.Second}}, nil
}

// rpcClientFromProps reads a Flume RPC client properties file, as
// RpcClientFactory.getInstance(File) does for the default client type.
func rpcClientFromProps(path string) (*rpcClient, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("RPC client properties file: %w", err)
	}
	p := conf.ParseProperties(data, path)
	get := func(k string) string {
		e, _ := p.Get(k)
		return e.Value
	}
	var warnings []string
	if t := get("client.type"); t != "" && !strings.EqualFold(t, "default") {
		return nil, nil, fmt.Errorf("%s: client.type %q is not supported (only default)", path, t)
	}
	hosts := strings.Fields(get("hosts"))
	if len(hosts) == 0 {
		return nil, nil, fmt.Errorf("%s: hosts list is invalid: %q", path, get("hosts"))
	}
	if len(hosts) > 1 {
		warnings = append(warnings, fmt.Sprintf("more than one host in hosts; only %s is used", hosts[0]))
	}
	hp := get("hosts." + hosts[0])
	host, port, ok := strings.Cut(hp, ":")
	if hp == "" || !ok || strings.Contains(port, ":") {
		return nil, nil, fmt.Errorf("%s: hosts.%s: invalid host:port %q", path, hosts[0], hp)
	}
	c, err := defaultRPCClient(host, port)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: hosts.%s: %w", path, hosts[0], err)
	}
	c.batch = 100
	if s := get("batch-size"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 1 {
			c.batch = n
		} else {
			warnings = append(warnings, fmt.Sprintf("batch-size %q is not valid; using 100", s))
		}
	}
	timeout := func(key string, dst *time.Duration) {
		if s := get(key); s != "" {
			ms, err := strconv.ParseInt(s, 10, 64)
			switch {
			case err != nil:
				warnings = append(warnings, fmt.Sprintf("%s %q is not valid; using 20000", key, s))
			case ms < 1000:
				warnings = append(warnings, fmt.Sprintf("%s below 1000 ms; using 20000", key))
			default:
				*dst = time.Duration(ms) * time.Millisecond
			}
		}
	}
	timeout("connect-timeout", &c.opts.ConnectTimeout)
	timeout("request-timeout", &c.opts.RequestTimeout)
	if strings.EqualFold(get("compression-type"), "deflate") {
		c.opts.Deflate, c.opts.DeflateLevel = true, 6
		if s := get("compression-level"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < -1 || n > 9 {
				return nil, nil, fmt.Errorf("%s: compression-level %q is not 0-9", path, s)
			}
			c.opts.DeflateLevel = n
		}
	}
	if ssl, _ := conf.ParseBool(get("ssl")); ssl {
		trustAll, _ := conf.ParseBool(get("trust-all-certs"))
		list := func(k string) []string { return strings.Fields(get(k)) }
		params := tlsconf.Params{
			TrustAll: trustAll, TrustStore: get("truststore"), TrustStorePassword: get("truststore-password"),
			TrustStoreType: get("truststore-type"), IncludeProtocols: list("include-protocols"),
			ExcludeProtocols: append(list("exclude-protocols"), "SSLv3"), IncludeCipherSuites: list("include-cipher-suites"),
			ExcludeCipherSuites: list("exclude-cipher-suites"),
		}
		if params.TrustStoreType == "" {
			params.TrustStoreType = "JKS"
		}
		cfg, w, err := tlsconf.Client(params.FromEnv("JKS"))
		warnings = append(warnings, w...)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: ssl: %w", path, err)
		}
		c.opts.TLS = cfg
	}
	return c, warnings, nil
}

func readHeaderFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("header file: %w", err)
	}
	// Flume's avro-client reads this with java.util.Properties: blanks kept.
	p := conf.ParseJavaProperties(data, path)
	h := make(map[string]string, len(p.Entries))
	for _, e := range p.Entries {
		h[e.Key] = e.Value
	}
	return h, nil
}

func cmdAvroClient(args []string, stdout, stderr io.Writer) int {
	a, err := parseAvroClientArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "sluice avro-client: %v\n\n%s", err, avroClientUsage)
		return 2
	}
	if a.help {
		fmt.Fprint(stdout, avroClientUsage)
		return 0
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "sluice avro-client: "+format+"\n", args...)
		return 1
	}
	var rc *rpcClient
	if a.props != "" {
		var warnings []string
		rc, warnings, err = rpcClientFromProps(a.props)
		for _, w := range warnings {
			fmt.Fprintf(stderr, "sluice avro-client: warning: %s\n", w)
		}
	} else {
		rc, err = defaultRPCClient(a.host, a.port)
	}
	if err != nil {
		return fail("%v", err)
	}
	headers := map[string]string{}
	if a.headers != "" {
		if headers, err = readHeaderFile(a.headers); err != nil {
			return fail("%v", err)
		}
	}
	var in io.Reader = avroClientIn
	if a.file != "" {
		f, err := os.Open(a.file)
		if err != nil {
			return fail("%v", err)
		}
		defer f.Close()
		in = f
	}
	if a.dir != "" {
		if st, err := os.Stat(a.dir); err != nil || !st.IsDir() {
			return fail("--dirname %s is not a directory", a.dir)
		}
	}

	ctx := context.Background()
	cl, err := avroipc.Dial(ctx, rc.addr, rc.opts)
	if err != nil {
		return fail("cannot connect to the avro source at %s: %v", rc.addr, err)
	}
	defer cl.Close()
	s := &avroSender{cl: cl, batch: rc.batch, headers: headers, progress: newProgress(stderr, "sent")}
	if a.dir != "" {
		err = s.sendDir(ctx, a.dir)
	} else {
		err = s.sendLines(ctx, in, javaReadLine)
	}
	s.progress.done(s.sent)
	if err != nil {
		return fail("%v (%d events were acknowledged before)", err, s.sent)
	}
	return 0
}

type avroSender struct {
	cl      *avroipc.Client
	batch   int
	headers map[string]string
	sent    int
	events  []*sluice.Event
	// progress shows the count and rate on a terminal.
	progress *progress
}

// sendLines sends every line of r, split by split, in batches.
func (s *avroSender) sendLines(ctx context.Context, r io.Reader, split bufio.SplitFunc) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), avroipc.DefaultMaxFrameSize)
	sc.Split(split)
	for sc.Scan() {
		s.events = append(s.events, &sluice.Event{Headers: s.headers, Body: bytes.Clone(sc.Bytes())})
		if len(s.events) == s.batch {
			if err := s.flush(ctx); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading input: %w", err)
	}
	return s.flush(ctx)
}

func (s *avroSender) flush(ctx context.Context) error {
	if len(s.events) == 0 {
		return nil
	}
	if err := s.cl.AppendBatch(ctx, s.events); err != nil {
		var se *avroipc.StatusError
		if errors.As(err, &se) {
			return fmt.Errorf("the avro source at %s refused a batch of %d events: it answered %s", se.Addr, len(s.events), se.Status)
		}
		return fmt.Errorf("sending a batch of %d events: %w", len(s.events), err)
	}
	s.sent += len(s.events)
	s.events = s.events[:0]
	s.progress.update(s.sent)
	return nil
}

// sendDir sends the files of a spooling directory, oldest first, as
// Flume's avro-client does with ReliableSpoolingFileEventReader: hidden
// files and files already named .COMPLETED are skipped; each file is
// renamed to <name>.COMPLETED once all its lines were acknowledged.
func (s *avroSender) sendDir(ctx context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	type file struct {
		name string
		mod  time.Time
	}
	var files []file
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".COMPLETED") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		files = append(files, file{n, info.ModTime()})
	}
	sort.Slice(files, func(i, j int) bool {
		if !files[i].mod.Equal(files[j].mod) {
			return files[i].mod.Before(files[j].mod)
		}
		return files[i].name < files[j].name
	})
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		done := path + ".COMPLETED"
		if _, err := os.Stat(done); err == nil {
			return fmt.Errorf("%s already exists; %s is not renamed over it", done, path)
		}
		fh, err := os.Open(path)
		if err != nil {
			return err
		}
		err = s.sendLines(ctx, fh, splitNewline)
		fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := os.Rename(path, done); err != nil {
			return err
		}
	}
	return nil
}

// javaReadLine splits lines as Java's BufferedReader.readLine: at \n, \r
// or \r\n. The last line needs no terminator.
func javaReadLine(data []byte, atEOF bool) (int, []byte, error) {
	i := bytes.IndexAny(data, "\r\n")
	switch {
	case i < 0:
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	case data[i] == '\n':
		return i + 1, data[:i], nil
	case i+1 < len(data):
		if data[i+1] == '\n' {
			return i + 2, data[:i], nil
		}
		return i + 1, data[:i], nil
	case atEOF:
		return i + 1, data[:i], nil
	}
	return 0, nil, nil // a \r at the end of the buffer: is \n next?
}

// splitNewline splits at \n only, keeping any \r, as Flume's
// LineDeserializer (used by --dirname) does.
func splitNewline(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

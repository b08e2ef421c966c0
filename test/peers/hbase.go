package peers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// HBaseVersion is the HBase release test/peers/hbase/pom.xml pins.
const HBaseVersion = "2.6.1"

// hbaseReadyLog is what test/peers/hbase/HBasePeer.java prints once a Put
// and a Get on its probe table worked.
const hbaseReadyLog = "HBASE_READY "

// HBaseProbeTable is the table the peer writes one row to before it calls
// itself ready; it shows up in Tables.
const HBaseProbeTable = "sluice_peer_probe"

// HBaseOptions configure one standalone HBase: an embedded ZooKeeper, an
// HMaster and one RegionServer in one JVM on loopback, data on the local
// file system.
type HBaseOptions struct {
	Port int    // ZooKeeper client port; a free one if 0
	Dir  string // data and log dir; t.TempDir() (tests) or a new temp dir
	Heap string // -Xmx; "384m" if empty
	// Tables are created (or given their missing families) before the peer
	// is ready: table name -> column families.
	Tables map[string][]string
	// Conf are extra HBase settings (hbase-site keys).
	Conf map[string]string
	// Fast adds FastStartFlags (C1 only): for tests, never for benchmarks.
	Fast bool
}

// HBase is a running standalone HBase. Restart and Kill keep its data and
// its ports, so the ZooKeeper address clients were given stays valid.
type HBase struct {
	*Proc
	ZKPort     int // ZooKeeper client port: what zookeeperQuorum names
	MasterPort int
	RSPort     int // the RegionServer's RPC port
}

// HBaseCell is one cell as HBase's Java client returns it (newest version).
type HBaseCell struct {
	Row, Family, Qualifier, Value []byte
	Timestamp                     int64
}

// Int64 reads the value as an HBase counter (an Increment's 8 big-endian
// bytes); ok is false if it is not 8 bytes long.
func (c HBaseCell) Int64() (n int64, ok bool) {
	if len(c.Value) != 8 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(c.Value)), true
}

// String is row/family:qualifier=value, with Go quoting.
func (c HBaseCell) String() string {
	return fmt.Sprintf("%q/%q:%q=%q", c.Row, c.Family, c.Qualifier, c.Value)
}

// StartHBase starts HBase for a test and waits until a Put and a Get work.
// It is stopped when the test ends. Tests share one peer per package
// (TestMain, StartHBaseProcess) and use their own tables.
func StartHBase(t testing.TB, opts HBaseOptions) *HBase {
	t.Helper()
	SkipIfShort(t)
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Port == 0 {
		opts.Port = FreePort(t)
	}
	master, rs := FreePort(t), FreePort(t)
	spec, err := hbaseSpec(opts, master, rs)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return &HBase{Proc: StartJavaT(t, spec), ZKPort: opts.Port, MasterPort: master, RSPort: rs}
}

// StartHBaseProcess is StartHBase for TestMain and programs that are not
// tests (the benchmark command, peers.sh run). The caller must Stop it.
func StartHBaseProcess(ctx context.Context, opts HBaseOptions) (*HBase, error) {
	if opts.Dir == "" {
		d, err := os.MkdirTemp("", "peer-hbase-")
		if err != nil {
			return nil, fmt.Errorf("peers: %w", err)
		}
		opts.Dir = d
	}
	var ports [3]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	if opts.Port == 0 {
		opts.Port = ports[0]
	}
	spec, err := hbaseSpec(opts, ports[1], ports[2])
	if err != nil {
		return nil, err
	}
	p, err := StartJava(ctx, spec)
	if err != nil {
		return nil, err
	}
	return &HBase{Proc: p, ZKPort: opts.Port, MasterPort: ports[1], RSPort: ports[2]}, nil
}

func hbaseSpec(opts HBaseOptions, master, rs int) (JavaSpec, error) {
	root, err := RepoRoot()
	if err != nil {
		return JavaSpec{}, err
	}
	java, err := Java17()
	if err != nil {
		return JavaSpec{}, err
	}
	src := filepath.Join(root, "test", "peers", "hbase")
	args := []string{strconv.Itoa(opts.Port), strconv.Itoa(master), strconv.Itoa(rs), opts.Dir}
	for _, name := range sortedKeys(opts.Tables) {
		fams := opts.Tables[name]
		if len(fams) == 0 {
			return JavaSpec{}, fmt.Errorf("peers: hbase table %q has no column family", name)
		}
		args = append(args, "--table", name+":"+strings.Join(fams, ","))
	}
	for _, k := range sortedKeys(opts.Conf) {
		args = append(args, k+"="+opts.Conf[k])
	}
	heap := opts.Heap
	if heap == "" {
		heap = "384m"
	}
	flags := []string{"-Dlog4j.configuration=file:" + filepath.Join(src, "log4j.properties"), "-XX:+UseSerialGC"}
	if opts.Fast {
		flags = append(flags, "-XX:TieredStopAtLevel=1")
	}
	return JavaSpec{
		Peer:         "hbase",
		Java:         java,
		Main:         filepath.Join(src, "HBasePeer.java"),
		Args:         args,
		Heap:         heap,
		JVMFlags:     flags,
		Dir:          opts.Dir,
		Ready:        Ready{Log: hbaseReadyLog},
		ReadyTimeout: 4 * time.Minute, // a cold JVM compiling the launcher on busy cores
	}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var java17 struct {
	once sync.Once
	path string
	err  error
}

// Java17 returns a java launcher HBase 2.6 runs on: Java() if its major
// version is 11 to 22, else a JDK 17 under /usr/lib/jvm. Newer JDKs fail in
// Hadoop's code (Subject.getSubject is no longer supported).
func Java17() (string, error) {
	java17.once.Do(func() {
		j, err := Java()
		if err == nil {
			if v, verr := javaMajor(j); verr == nil && v >= 11 && v <= 22 {
				java17.path = j
				return
			}
		}
		cands, _ := filepath.Glob("/usr/lib/jvm/*17*/bin/java")
		for _, c := range cands {
			if v, verr := javaMajor(c); verr == nil && v == 17 {
				java17.path = c
				return
			}
		}
		java17.err = fmt.Errorf("peers: hbase needs Java 11 to 22 (17 is what CI uses); %s is not, and no JDK 17 under /usr/lib/jvm: set JAVA_HOME", j)
	})
	return java17.path, java17.err
}

var javaVersionRe = regexp.MustCompile(`version "(\d+)(?:\.(\d+))?`)

// javaMajor runs `java -version` and returns its feature release.
func javaMajor(java string) (int, error) {
	out, err := exec.Command(java, "-version").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("peers: %s -version: %w", java, err)
	}
	v, ok := parseJavaMajor(out)
	if !ok {
		return 0, fmt.Errorf("peers: %s -version: no version in %q", java, out)
	}
	return v, nil
}

// parseJavaMajor finds the feature release in `java -version` output:
// "17.0.15" is 17, "25" is 25, "1.8.0_292" is 8.
func parseJavaMajor(out []byte) (int, bool) {
	m := javaVersionRe.FindSubmatch(out)
	if m == nil {
		return 0, false
	}
	v, _ := strconv.Atoi(string(m[1]))
	if v == 1 && len(m[2]) > 0 {
		v, _ = strconv.Atoi(string(m[2]))
	}
	return v, true
}

// ZK is the ZooKeeper quorum address, 127.0.0.1:port: the hbase sink's
// zookeeperQuorum.
func (h *HBase) ZK() string { return fmt.Sprintf("127.0.0.1:%d", h.ZKPort) }

// CreateTable creates the table with these column families, or adds the
// families an existing table lacks.
func (h *HBase) CreateTable(table string, families ...string) error {
	if len(families) == 0 {
		return fmt.Errorf("peers: hbase create %q: no column family", table)
	}
	_, err := h.control(append([]string{"create", table}, families...)...)
	return err
}

// DropTable disables and deletes the table; a missing table is no error.
func (h *HBase) DropTable(table string) error {
	_, err := h.control("drop", table)
	return err
}

// Tables lists the table names (HBaseProbeTable among them).
func (h *HBase) Tables() ([]string, error) {
	out, err := h.control("tables")
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// Put writes one cell with HBase's Java client.
func (h *HBase) Put(table string, row, family, qualifier, value []byte) error {
	e := base64.StdEncoding.EncodeToString
	_, err := h.control("put", table, e(row), e(family), e(qualifier), e(value))
	return err
}

// Scan reads every cell of the table (newest version) with HBase's Java
// client, in HBase's order: by row, family, qualifier.
func (h *HBase) Scan(table string) ([]HBaseCell, error) {
	out, err := h.control("scan", table)
	if err != nil {
		return nil, err
	}
	var cells []HBaseCell
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("peers: hbase scan %s: bad line %q", table, line)
		}
		var c HBaseCell
		var bs [4][]byte
		for i, s := range []string{f[0], f[1], f[2], f[4]} {
			if bs[i], err = base64.StdEncoding.DecodeString(s); err != nil {
				return nil, fmt.Errorf("peers: hbase scan %s: bad line %q: %w", table, line, err)
			}
		}
		c.Row, c.Family, c.Qualifier, c.Value = bs[0], bs[1], bs[2], bs[3]
		if c.Timestamp, err = strconv.ParseInt(f[3], 10, 64); err != nil {
			return nil, fmt.Errorf("peers: hbase scan %s: bad line %q: %w", table, line, err)
		}
		cells = append(cells, c)
	}
	return cells, nil
}

// StopRegionServer aborts the peer's only RegionServer, as a crash would
// (memstores not flushed; the master replays its WAL later), and returns
// once it is gone. ZooKeeper and the HMaster stay up, so clients find the
// cluster but no server for any region until StartRegionServer.
func (h *HBase) StopRegionServer() error {
	_, err := h.control("stop-regionserver")
	return err
}

// StartRegionServer starts a RegionServer again on the same port and
// returns once every region is assigned to it.
func (h *HBase) StartRegionServer() error {
	_, err := h.control("start-regionserver")
	return err
}

// Dump is the table's cells for people, one per line, bytes shown as the
// HBase shell shows them: row TAB family:qualifier TAB value.
func (h *HBase) Dump(table string) (string, error) {
	out, err := h.control("dump", table)
	return string(out), err
}

// ControlAddr is the control port of the running peer, host:port (see
// test/peers/hbase/HBasePeer.java for its protocol).
func (h *HBase) ControlAddr() (string, error) { return h.controlAddr() }

// Rows is Scan grouped by row key: row -> "family:qualifier" -> value.
func (h *HBase) Rows(table string) (map[string]map[string][]byte, error) {
	cells, err := h.Scan(table)
	if err != nil {
		return nil, err
	}
	rows := map[string]map[string][]byte{}
	for _, c := range cells {
		r := rows[string(c.Row)]
		if r == nil {
			r = map[string][]byte{}
			rows[string(c.Row)] = r
		}
		r[string(c.Family)+":"+string(c.Qualifier)] = c.Value
	}
	return rows, nil
}

// controlAddr is the control port of the current run, from its ready line.
func (h *HBase) controlAddr() (string, error) {
	b, err := os.ReadFile(h.LogPath())
	if err != nil {
		return "", fmt.Errorf("peers: hbase: %w", err)
	}
	i := bytes.LastIndex(b, []byte(hbaseReadyLog))
	if i < 0 || !h.Running() {
		return "", fmt.Errorf("peers: hbase is not running (log %s)", h.LogPath())
	}
	line := string(b[i:])
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	k := strings.Index(line, "control=")
	if k < 0 {
		return "", fmt.Errorf("peers: hbase: no control port in %q", line)
	}
	return "127.0.0.1:" + strings.TrimSpace(line[k+len("control="):]), nil
}

// control sends one request to the peer's control port and returns the
// answer's body.
func (h *HBase) control(words ...string) ([]byte, error) {
	for _, w := range words {
		if w == "" || strings.ContainsAny(w, "\t\n") {
			return nil, fmt.Errorf("peers: hbase control: argument %q is empty or has a tab or newline", w)
		}
	}
	addr, err := h.controlAddr()
	if err != nil {
		return nil, err
	}
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("peers: hbase control: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Minute))
	if _, err := io.WriteString(c, strings.Join(words, "\t")+"\n"); err != nil {
		return nil, fmt.Errorf("peers: hbase control: %w", err)
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("peers: hbase %s: %w", words[0], err)
	}
	line = strings.TrimSpace(line)
	if msg, ok := strings.CutPrefix(line, "ERR "); ok {
		return nil, fmt.Errorf("peers: hbase %s: %s", strings.Join(words, " "), msg)
	}
	var n int
	if _, err := fmt.Sscanf(line, "OK %d", &n); err != nil {
		return nil, fmt.Errorf("peers: hbase %s: bad answer %q", words[0], line)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("peers: hbase %s: %w", words[0], err)
	}
	return body, nil
}

func init() {
	registerRunner("hbase", func(ctx context.Context, o RunOptions) (*Running, error) {
		h, err := StartHBaseProcess(ctx, HBaseOptions{Port: o.Port, Dir: o.Dir, Tables: o.Tables})
		if err != nil {
			return nil, err
		}
		r := procRunning(h.ZK(), h.Proc)
		if ctl, err := h.ControlAddr(); err == nil {
			host, port, _ := net.SplitHostPort(ctl)
			r.Info = fmt.Sprintf("hbase: tables %v; control port %s; a table's cells: printf 'dump\\tTABLE\\n' | nc -q 5 %s %s; a new table: printf 'create\\tTABLE\\tFAMILY\\n' | nc -q 5 %s %s",
				sortedKeys(o.Tables), ctl, host, port, host, port)
		}
		return r, nil
	})
}

package peers

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// HadoopVersion is the Hadoop release test/peers/hdfs/pom.xml pins.
const HadoopVersion = "3.5.0"

// hdfsReadyLog is what test/peers/hdfs/HdfsPeer.java prints once the
// cluster is active.
const hdfsReadyLog = "HDFS_READY "

// HDFSOptions configure one single-process HDFS (MiniDFSCluster: a
// NameNode and one DataNode on loopback).
type HDFSOptions struct {
	Port int    // NameNode RPC port; a free one if 0
	Dir  string // data and log dir; t.TempDir() (tests) or a new temp dir
	Heap string // -Xmx; "512m" if empty
	// Conf are extra Hadoop settings (hdfs-site keys), e.g.
	// "dfs.permissions.enabled": "false".
	Conf map[string]string
	// Fast adds FastStartFlags (C1 only): for tests, never for benchmarks.
	Fast bool
}

// HDFS is a running single-process HDFS. Its data survives Restart (the
// base dir is formatted on the first start only). Permissions are on, and
// the NameNode's superuser is the OS user that started the JVM, so a client
// that says it is that user may write anywhere and any other user is
// checked.
type HDFS struct {
	*Proc
	Port int
}

// StartHDFS starts HDFS for a test and waits until the NameNode and the
// DataNode are up. It is stopped when the test ends.
func StartHDFS(t testing.TB, opts HDFSOptions) *HDFS {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Port == 0 {
		opts.Port = FreePort(t)
	}
	spec, err := hdfsSpec(opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return &HDFS{Proc: StartJavaT(t, spec), Port: opts.Port}
}

// StartHDFSProcess is StartHDFS for programs that are not tests (the
// benchmark command, TestMain). The caller must Stop it.
func StartHDFSProcess(ctx context.Context, opts HDFSOptions) (*HDFS, error) {
	if opts.Dir == "" {
		d, err := os.MkdirTemp("", "peer-hdfs-")
		if err != nil {
			return nil, fmt.Errorf("peers: %w", err)
		}
		opts.Dir = d
	}
	if opts.Port == 0 {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		opts.Port = p
	}
	spec, err := hdfsSpec(opts)
	if err != nil {
		return nil, err
	}
	p, err := StartJava(ctx, spec)
	if err != nil {
		return nil, err
	}
	return &HDFS{Proc: p, Port: opts.Port}, nil
}

func hdfsSpec(opts HDFSOptions) (JavaSpec, error) {
	root, err := RepoRoot()
	if err != nil {
		return JavaSpec{}, err
	}
	src := filepath.Join(root, "test", "peers", "hdfs")
	data := filepath.Join(opts.Dir, "dfs")
	args := []string{strconv.Itoa(opts.Port), data}
	keys := make([]string, 0, len(opts.Conf))
	for k := range opts.Conf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, k+"="+opts.Conf[k])
	}
	heap := opts.Heap
	if heap == "" {
		heap = "512m"
	}
	flags := []string{"-Dlog4j.configuration=file:" + filepath.Join(src, "log4j.properties")}
	if opts.Fast {
		flags = append(flags, FastStartFlags...)
	}
	return JavaSpec{
		Peer:         "hdfs",
		Main:         filepath.Join(src, "HdfsPeer.java"),
		Args:         args,
		Heap:         heap,
		JVMFlags:     flags,
		Dir:          opts.Dir,
		Ready:        Ready{Log: hdfsReadyLog},
		ReadyTimeout: 3 * time.Minute, // a cold JVM compiling the launcher on busy cores
	}, nil
}

// Addr is the NameNode's RPC address, host:port, as Go clients dial it.
func (h *HDFS) Addr() string { return fmt.Sprintf("127.0.0.1:%d", h.Port) }

// URL is the file system's URI: hdfs://127.0.0.1:port.
func (h *HDFS) URL() string { return "hdfs://" + h.Addr() }

// controlAddr is the control port of the current run, from its ready line.
func (h *HDFS) controlAddr() (string, error) {
	b, err := os.ReadFile(h.LogPath())
	if err != nil {
		return "", fmt.Errorf("peers: hdfs: %w", err)
	}
	i := strings.LastIndex(string(b), hdfsReadyLog)
	if i < 0 {
		return "", fmt.Errorf("peers: hdfs is not running (no ready line in %s)", h.LogPath())
	}
	line := string(b[i:])
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	k := strings.Index(line, "control=")
	if k < 0 {
		return "", fmt.Errorf("peers: hdfs: no control port in %q", line)
	}
	return "127.0.0.1:" + strings.TrimSpace(line[k+len("control="):]), nil
}

// control sends one request to the peer's control port.
func (h *HDFS) control(words ...string) (exit int, stdout, stderr []byte, err error) {
	addr, err := h.controlAddr()
	if err != nil {
		return 0, nil, nil, err
	}
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("peers: hdfs control: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Minute))
	for _, w := range words {
		if strings.ContainsAny(w, "\t\n") {
			return 0, nil, nil, fmt.Errorf("peers: hdfs control: argument %q has a tab or newline", w)
		}
	}
	if _, err := io.WriteString(c, strings.Join(words, "\t")+"\n"); err != nil {
		return 0, nil, nil, fmt.Errorf("peers: hdfs control: %w", err)
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, nil, nil, fmt.Errorf("peers: hdfs control %v: %w", words, err)
	}
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "ERR ") {
		return 0, nil, nil, fmt.Errorf("peers: hdfs %v: %s", words, line[4:])
	}
	var no, ne int
	if _, err := fmt.Sscanf(line, "OK %d %d %d", &exit, &no, &ne); err != nil {
		return 0, nil, nil, fmt.Errorf("peers: hdfs control %v: bad answer %q", words, line)
	}
	stdout, stderr = make([]byte, no), make([]byte, ne)
	if _, err := io.ReadFull(r, stdout); err != nil {
		return 0, nil, nil, fmt.Errorf("peers: hdfs control %v: %w", words, err)
	}
	if _, err := io.ReadFull(r, stderr); err != nil {
		return 0, nil, nil, fmt.Errorf("peers: hdfs control %v: %w", words, err)
	}
	return exit, stdout, stderr, nil
}

// Shell runs Hadoop's own FsShell (`hadoop fs <args>`) inside the peer's
// JVM, against this cluster, and returns its standard output. A non-zero
// exit is an error carrying FsShell's standard error.
func (h *HDFS) Shell(args ...string) ([]byte, error) {
	return h.tool("fs", args)
}

// DFSAdmin runs Hadoop's `hdfs dfsadmin <args>` (quotas, safe mode).
func (h *HDFS) DFSAdmin(args ...string) ([]byte, error) {
	return h.tool("dfsadmin", args)
}

func (h *HDFS) tool(name string, args []string) ([]byte, error) {
	exit, out, errb, err := h.control(append([]string{name}, args...)...)
	if err != nil {
		return nil, err
	}
	if exit != 0 {
		return out, fmt.Errorf("peers: hdfs %s %s: exit %d: %s", name, strings.Join(args, " "), exit, strings.TrimSpace(string(errb)))
	}
	return out, nil
}

// Cat is `hadoop fs -cat path`: the file's bytes as stored.
func (h *HDFS) Cat(path string) ([]byte, error) { return h.Shell("-cat", path) }

// Text is `hadoop fs -text path`: Hadoop decodes SequenceFiles (key TAB
// value per record) and compressed streams by their codec's suffix.
func (h *HDFS) Text(path string) ([]byte, error) { return h.Shell("-text", path) }

// HDFSEntry is one line of `hadoop fs -ls`.
type HDFSEntry struct {
	Path string
	Dir  bool
	Size int64
}

// Ls is `hadoop fs -ls [-R] path`, parsed. A path that does not exist is
// an error.
func (h *HDFS) Ls(path string, recursive bool) ([]HDFSEntry, error) {
	args := []string{"-ls"}
	if recursive {
		args = append(args, "-R")
	}
	out, err := h.Shell(append(args, path)...)
	if err != nil {
		return nil, err
	}
	var es []HDFSEntry
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		// perms repl owner group size date time path
		if len(f) < 8 || strings.HasPrefix(line, "Found ") {
			continue
		}
		size, _ := strconv.ParseInt(f[4], 10, 64)
		es = append(es, HDFSEntry{Path: strings.Join(f[7:], " "), Dir: strings.HasPrefix(f[0], "d"), Size: size})
	}
	return es, nil
}

// StopDataNode stops the cluster's DataNode (the NameNode stays up), as a
// DataNode crash would look to a writer.
func (h *HDFS) StopDataNode() error {
	_, _, _, err := h.control("stop-datanode")
	return err
}

// StartDataNode starts the stopped DataNode again on its old ports and
// waits until the NameNode sees it.
func (h *HDFS) StartDataNode() error {
	_, _, _, err := h.control("start-datanode")
	return err
}

func init() {
	registerRunner("hdfs", func(ctx context.Context, o RunOptions) (*Running, error) {
		h, err := StartHDFSProcess(ctx, HDFSOptions{Port: o.Port, Dir: o.Dir})
		if err != nil {
			return nil, err
		}
		return procRunning(h.URL(), h.Proc), nil
	})
}

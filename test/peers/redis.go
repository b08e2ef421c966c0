package peers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Redis is a redis-server (Debian's redis-server package) on loopback, in
// a directory of its own, that a test can stop, kill and start again on
// the same port and data.
type Redis struct {
	Port int
	Dir  string
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Addr is host:port.
func (r *Redis) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.Port) }

// StartRedis starts redis-server on port (0: a free one) in dir (a temp dir
// if empty) with no snapshots (an empty --save), plus extra arguments, and waits
// until it answers PING.
func StartRedis(ctx context.Context, dir string, port int, extra ...string) (*Redis, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("peers: redis-server not installed (apt-get install redis-server redis-tools): %w", err)
	}
	var err error
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "sluice-redis"); err != nil {
			return nil, err
		}
	}
	r := &Redis{Port: port, Dir: dir}
	r.args = append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--logfile", filepath.Join(dir, "redis.log"), "--protected-mode", "no"}, extra...)
	return r, r.Start(ctx)
}

// StartRedisT is StartRedis for a test: it fails the test with the log's
// tail when the server does not start, and stops it when the test ends.
func StartRedisT(t testing.TB, extra ...string) *Redis {
	t.Helper()
	r, err := StartRedis(context.Background(), t.TempDir(), 0, extra...)
	if err != nil {
		if r != nil {
			t.Fatalf("%v\nredis log:\n%s", err, r.LogTail())
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	return r
}

// Start (re)starts the server with its port, directory and arguments.
func (r *Redis) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return errors.New("peers: redis already running")
	}
	cmd := exec.Command("redis-server", r.args...)
	cmd.Dir = r.Dir
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("peers: start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.cmd, r.done = cmd, done
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if reply, err := r.do("PING"); err == nil && reply == "+PONG" {
			return nil
		}
		select {
		case <-done:
			r.cmd = nil
			return fmt.Errorf("peers: redis-server on port %d exited at start; log tail:\n%s", r.Port, r.LogTail())
		case <-ctx.Done():
			return fmt.Errorf("peers: redis-server on port %d did not answer PING: %w; log tail:\n%s", r.Port, ctx.Err(), r.LogTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// do sends one inline command and returns the first reply line.
func (r *Redis) do(cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", r.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// Cli runs redis-cli against the server and returns its output.
func (r *Redis) Cli(args ...string) (string, error) {
	out, err := exec.Command("redis-cli", append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(r.Port)}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (r *Redis) signal(sig syscall.Signal) error {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	return nil
}

// Stop shuts the server down (SIGTERM: an append-only file is flushed).
func (r *Redis) Stop() error { return r.signal(syscall.SIGTERM) }

// Kill kills it at once.
func (r *Redis) Kill() error { return r.signal(syscall.SIGKILL) }

// LogTail is the end of the server's log.
func (r *Redis) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(r.Dir, "redis.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// StartRedisCluster starts n cluster-enabled masters (append-only, fsync
// always, so a restarted master keeps what it acknowledged), joins them
// with `redis-cli --cluster create` and waits until every node says
// cluster_state:ok. They are stopped when the test ends.
func StartRedisCluster(t testing.TB, n int) []*Redis {
	t.Helper()
	var nodes []*Redis
	var addrs []string
	for i := 0; i < n; i++ {
		bus, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		r := StartRedisT(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(bus), "--cluster-node-timeout", "2000",
			"--appendonly", "yes", "--appendfsync", "always")
		nodes = append(nodes, r)
		addrs = append(addrs, r.Addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	if out, err := nodes[0].Cli(append(args, "--cluster-replicas", "0", "--cluster-yes")...); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, r := range nodes {
		WaitClusterOK(t, r)
	}
	return nodes
}

// WaitClusterOK waits until node r reports cluster_state:ok.
func WaitClusterOK(t testing.TB, r *Redis) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := r.Cli("cluster", "info")
		if strings.Contains(out, "cluster_state:ok") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis cluster node %s not ok after 60 s:\n%s\nlog:\n%s", r.Addr(), out, r.LogTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func init() {
	registerRunner("redis", func(ctx context.Context, o RunOptions) (*Running, error) {
		r, err := StartRedis(ctx, o.Dir, o.Port)
		if err != nil {
			return nil, err
		}
		return &Running{Addr: r.Addr(), Stop: r.Stop, Wait: func(ctx context.Context) error {
			r.mu.Lock()
			done := r.done
			r.mu.Unlock()
			select {
			case <-done:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}, nil
	})
}

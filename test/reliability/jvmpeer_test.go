package reliability

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/sluiceio/sluice/test/peers"
)

// The scenarios against Kafka, HDFS and OpenSearch share one JVM peer at a
// time: the first scenario that needs a peer starts it, a scenario that
// needs another one stops it first (2 cores: never two JVMs at once), and
// TestMain stops whatever is left (stopJVMPeer). Their files are named so
// that the scenarios of one peer run one after another.
var jvm struct {
	sync.Mutex
	name string
	proc *peers.Proc
	dir  string
	peer any // *peers.Kafka, *peers.HDFS or *peers.OpenSearch
}

// usePeer returns the running peer called name, starting it (after
// stopping any other) with start when it is not the current one. A peer
// that cannot start fails the test with its log tail (in start's error);
// a test that fails later logs it too. With last (the peer's last
// scenario in file order) the peer is stopped when the test ends.
func usePeer(t *testing.T, name string, last bool, start func(ctx context.Context, dir string) (any, *peers.Proc, error)) any {
	t.Helper()
	needBinary(t)
	jvm.Lock()
	defer jvm.Unlock()
	t.Cleanup(func() {
		jvm.Lock()
		defer jvm.Unlock()
		if jvm.name != name {
			return
		}
		if t.Failed() {
			t.Logf("%s output (%s), last lines:\n%s", name, jvm.proc.LogPath(), jvm.proc.LogTail())
		}
		if last {
			stopJVMPeerLocked()
		}
	})
	if jvm.name == name {
		if !jvm.proc.Running() {
			// A scenario that failed half-way may leave it stopped.
			if err := jvm.proc.Restart(); err != nil {
				t.Fatalf("restarting %s: %v", name, err)
			}
		}
		return jvm.peer
	}
	stopJVMPeerLocked()
	dir, err := os.MkdirTemp("", "reliability-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	peer, proc, err := start(context.Background(), dir)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("starting %s: %v", name, err)
	}
	jvm.name, jvm.proc, jvm.dir, jvm.peer = name, proc, dir, peer
	return peer
}

// stopJVMPeer stops the current peer, if any, and removes its data.
func stopJVMPeer() {
	jvm.Lock()
	defer jvm.Unlock()
	stopJVMPeerLocked()
}

func stopJVMPeerLocked() {
	if jvm.proc == nil {
		return
	}
	if err := jvm.proc.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "reliability: stopping %s: %v\n", jvm.name, err)
	}
	os.RemoveAll(jvm.dir)
	jvm.name, jvm.proc, jvm.dir, jvm.peer = "", nil, "", nil
}

// needKafka is the package's Kafka broker (KRaft, one node).
func needKafka(t *testing.T, last bool) *peers.Kafka {
	t.Helper()
	return usePeer(t, "kafka", last, func(ctx context.Context, dir string) (any, *peers.Proc, error) {
		k, err := peers.StartKafkaProcess(ctx, peers.KafkaOptions{Dir: dir, Heap: "512m", JVMFlags: peers.FastStartFlags})
		if err != nil {
			return nil, nil, err
		}
		return k, k.Proc, nil
	}).(*peers.Kafka)
}

// needHDFS is the package's HDFS (NameNode and DataNode in one JVM).
func needHDFS(t *testing.T, last bool) *peers.HDFS {
	t.Helper()
	return usePeer(t, "hdfs", last, func(ctx context.Context, dir string) (any, *peers.Proc, error) {
		h, err := peers.StartHDFSProcess(ctx, peers.HDFSOptions{Dir: dir, Heap: "512m", Fast: true})
		if err != nil {
			return nil, nil, err
		}
		return h, h.Proc, nil
	}).(*peers.HDFS)
}

// needOpenSearch is the package's OpenSearch node.
func needOpenSearch(t *testing.T, last bool) *peers.OpenSearch {
	t.Helper()
	return usePeer(t, "opensearch", last, func(ctx context.Context, dir string) (any, *peers.Proc, error) {
		o, err := peers.StartOpenSearchProcess(ctx, peers.OpenSearchOptions{Dir: dir, Heap: "512m", Fast: true})
		if err != nil {
			return nil, nil, err
		}
		return o, o.Proc, nil
	}).(*peers.OpenSearch)
}

package bench

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/sluiceio/sluice/test/peers"
)

// hdfsBody is the body size of the HDFS workloads.
const hdfsBody = 100

// hdfsBatch is the sink's hdfs.batchSize (Flume's default is 100).
const hdfsBatch = 1000

// HDFSHeap is the benchmark cluster's -Xmx.
const HDFSHeap = "1g"

// The HDFS workloads share one single-process cluster (NameNode and one
// DataNode), started by the first of them that runs with the JVM's default
// flags (not the tests' FastStartFlags) and stopped by StopHDFS.
var hdfsPeer struct {
	mu      sync.Mutex
	dir     string // the cluster's data and log
	cluster *peers.HDFS
}

func hdfsCluster(ctx context.Context) (*peers.HDFS, error) {
	hdfsPeer.mu.Lock()
	defer hdfsPeer.mu.Unlock()
	if hdfsPeer.cluster != nil {
		return hdfsPeer.cluster, nil
	}
	// A directory of its own, removed by StopHDFS: every run's files stay
	// in the cluster until then.
	dir, err := os.MkdirTemp("", "sluice-bench-hdfs-")
	if err != nil {
		return nil, err
	}
	c, err := peers.StartHDFSProcess(ctx, peers.HDFSOptions{Heap: HDFSHeap, Dir: dir})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting HDFS: %w", err)
	}
	hdfsPeer.cluster, hdfsPeer.dir = c, dir
	return c, nil
}

// StopHDFS stops the benchmark cluster if a workload started it, and
// removes its data.
func StopHDFS() {
	hdfsPeer.mu.Lock()
	defer hdfsPeer.mu.Unlock()
	if hdfsPeer.cluster == nil {
		return
	}
	if err := hdfsPeer.cluster.Stop(); err != nil {
		fmt.Println("stopping HDFS:", err)
	}
	os.RemoveAll(hdfsPeer.dir)
	hdfsPeer.cluster, hdfsPeer.dir = nil, ""
}

func hdfsURL() string {
	hdfsPeer.mu.Lock()
	defer hdfsPeer.mu.Unlock()
	return hdfsPeer.cluster.URL()
}

// hdfsWorkloads are the HDFS sink writing a DataStream of text lines and a
// SequenceFile, beside Flume 1.11's HDFS sink on the same cluster.
func hdfsWorkloads() []Workload {
	return []Workload{
		HDFSWorkload("DataStream, TEXT", "a1.sinks.k1.hdfs.fileType = DataStream\na1.sinks.k1.serializer = TEXT\n"),
		HDFSWorkload("SequenceFile", "a1.sinks.k1.hdfs.fileType = SequenceFile\n"),
	}
}

// HDFSWorkload is stress → memory → hdfs sink into a directory of its own
// per run, with the file-type properties props. Files roll at 128 MB only
// (a block; no time or count rolls), so a run writes one file or a few.
// callTimeout is a minute for both agents: Flume's 10 s default can expire
// on a loaded two-core machine and would measure retries, not writing.
// Delivery is the sink's EventDrainSuccessCount, which both agents raise
// only after a batch was flushed to the DataNode (hflush) and committed.
//
// The channel's keep-alive is a minute (default 3 s): Flume 1.11's
// StressSource counts a batch the full channel refused as sent and never
// retries it, so one sink pause of over 3 s (a file open on a busy
// machine) would leave its run 1000 events short for good.
//
// hdfs.minBlockReplicas is 1, the cluster's one DataNode: left unset,
// Flume's client asks for 3 replicas, sees every block under-replicated
// and rolls a new file after each batch (Sluice accepts and ignores it).
func HDFSWorkload(kind, props string) Workload {
	return Workload{
		Name: fmt.Sprintf("stress → memory → hdfs sink (%s, Hadoop %s), %d-byte bodies", kind, peers.HadoopVersion, hdfsBody),
		Prepare: func(ctx context.Context, p Ports) error {
			_, err := hdfsCluster(ctx)
			return err
		},
		Conf: func(p Ports) string {
			return stressSource(p.Events) + memoryChannel + "a1.channels.c1.keep-alive = 60\n" + fmt.Sprintf("a1.sinks = k1\n"+
				"a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n"+
				"a1.sinks.k1.hdfs.path = %s/%s\na1.sinks.k1.hdfs.batchSize = %d\n"+
				"a1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.rollCount = 0\n"+
				"a1.sinks.k1.hdfs.rollSize = 134217728\na1.sinks.k1.hdfs.callTimeout = 60000\n"+
				"a1.sinks.k1.hdfs.minBlockReplicas = 1\n",
				hdfsURL(), runName("hdfs", p), hdfsBatch) + props
		},
		BodySize:  hdfsBody,
		SinkKey:   "SINK.k1",
		FlumePeer: "flume-hdfs",
	}
}

package reliability

import (
	"fmt"
	"testing"
	"time"
)

// TestHDFSOutage: avro → memory channel → hdfs sink, the whole HDFS
// (NameNode and DataNode) stopped for the outage budget while the client
// keeps sending (runPeerOutage). Every acknowledged event is read back
// from HDFS. The last HDFS scenario: the cluster is stopped after it.
func TestHDFSOutage(t *testing.T) {
	h := needHDFS(t, true)
	hdir := fmt.Sprintf("/reliability/hdfs-outage-%d", time.Now().UnixNano())
	runPeerOutage(t, peerOutage{
		scenario: "hdfs-outage",
		peer:     "HDFS (NameNode and DataNode)",
		sink:     func(ag string) string { return hdfsSink(ag, h, hdir) },
		sinkDoc:  "; the hdfs sink holds only the batch it is writing (hdfs.batchSize events, part of the channel's count until committed)",
		batch:    sinkBatch,
		stop:     h.Stop,
		start:    h.Restart,
		read:     hdfsReader(h, hdir),
	})
}

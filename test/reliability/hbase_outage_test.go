package reliability

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// needHBase is the package's standalone HBase (ZooKeeper, HMaster and
// RegionServer in one JVM), one JVM peer at a time like the others.
func needHBase(t *testing.T, last bool) *peers.HBase {
	t.Helper()
	return usePeer(t, "hbase", last, func(ctx context.Context, dir string) (any, *peers.Proc, error) {
		h, err := peers.StartHBaseProcess(ctx, peers.HBaseOptions{Dir: dir, Heap: "512m", Fast: true})
		if err != nil {
			return nil, nil, err
		}
		return h, h.Proc, nil
	}).(*peers.HBase)
}

// tableReader reads back the bodies the simple serializer put in cf:pCol
// (the counter row is left out), with HBase's Java client. A full scan is
// done only when the last one is 10 s old or once want may be there.
type tableReader struct {
	h     *peers.HBase
	table string
	last  *seqCount
	at    time.Time
}

func (r *tableReader) read(want int) (*seqCount, error) {
	if r.last != nil && r.last.lines < want && time.Since(r.at) < 10*time.Second {
		return r.last, nil
	}
	cells, err := r.h.Scan(r.table)
	if err != nil {
		return nil, err
	}
	c := &seqCount{}
	for _, cell := range cells {
		if string(cell.Family) == "cf" && string(cell.Qualifier) == "pCol" {
			c.add(cell.Value)
		}
	}
	r.last, r.at = c, time.Now()
	return c, nil
}

// TestHBaseOutage: avro → memory channel → hbase2 sink (Flume's simple
// serializer: a row per event and a counter), the whole HBase stopped for
// the outage budget while the client keeps sending (runPeerOutage). Every
// acknowledged event is read back from the table. The only HBase
// scenario: HBase is stopped after it.
func TestHBaseOutage(t *testing.T) {
	h := needHBase(t, true)
	table := fmt.Sprintf("rel_hbase_outage_%d", time.Now().UnixNano())
	if err := h.CreateTable(table, "cf"); err != nil {
		t.Fatal(err)
	}
	r := &tableReader{h: h, table: table}
	runPeerOutage(t, peerOutage{
		scenario: "hbase-outage",
		peer:     "HBase (ZooKeeper, master and region server)",
		sink: func(ag string) string {
			return fmt.Sprintf(`%[1]s.sinks.k1.type = hbase2
%[1]s.sinks.k1.channel = c1
%[1]s.sinks.k1.table = %[2]s
%[1]s.sinks.k1.columnFamily = cf
%[1]s.sinks.k1.zookeeperQuorum = %[3]s
%[1]s.sinks.k1.batchSize = %[4]d
`, ag, table, h.ZK(), sinkBatch)
		},
		sinkDoc: "; the hbase2 sink holds only the batch whose Puts and Increments it is sending (batchSize events, part of the channel's count until committed)",
		batch:   sinkBatch,
		stop:    h.Stop,
		start:   h.Restart,
		read:    r.read,
	})
}

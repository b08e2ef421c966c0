package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/tsuna/gohbase"
	"github.com/tsuna/gohbase/hrpc"

	"github.com/sluiceio/sluice/test/peers"
)

// hbaseBody is the body size of the HBase workload.
const hbaseBody = 100

// hbaseBatch is the sink's batchSize (Flume's default is 100).
const hbaseBatch = 1000

// HBaseHeap is the benchmark HBase's heap.
const HBaseHeap = "1g"

// The HBase workload's standalone HBase, started by its first run with the
// JVM's default flags (not the tests' FastStartFlags) and stopped by
// StopHBase.
var hbasePeer struct {
	mu sync.Mutex
	h  *peers.HBase
}

func hbaseServer(ctx context.Context) (*peers.HBase, error) {
	hbasePeer.mu.Lock()
	defer hbasePeer.mu.Unlock()
	if hbasePeer.h != nil {
		return hbasePeer.h, nil
	}
	h, err := peers.StartHBaseProcess(ctx, peers.HBaseOptions{Heap: HBaseHeap})
	if err != nil {
		return nil, fmt.Errorf("starting HBase: %w", err)
	}
	hbasePeer.h = h
	return h, nil
}

func hbaseNow() *peers.HBase {
	hbasePeer.mu.Lock()
	defer hbasePeer.mu.Unlock()
	return hbasePeer.h
}

// StopHBase stops the benchmark HBase if a workload started it.
func StopHBase() {
	hbasePeer.mu.Lock()
	defer hbasePeer.mu.Unlock()
	if hbasePeer.h == nil {
		return
	}
	if err := hbasePeer.h.Stop(); err != nil {
		fmt.Println("stopping HBase:", err)
	}
	hbasePeer.h = nil
}

// HBaseWorkload is stress → memory → hbase2 sink into a table of its own
// per run, with Flume's default serializer (SimpleHBase2EventSerializer:
// one Put of a row default<uuid> per event, and incRow:iCol + 1 per event,
// coalesced per batch as both agents do with coalesceIncrements), batches
// of 1000. Both agents write to the same standalone HBase (Flume 1.11 with
// its hbase2 sink: the flume-hbase peer). Delivery is the sink's
// EventDrainSuccessCount; Verify reads the counter back, which only the
// last event's increment brings to the event count.
func HBaseWorkload() Workload {
	return Workload{
		Name: fmt.Sprintf("stress → memory → hbase2 sink (HBase %s, simple serializer + coalesced counter), %d-byte bodies", peers.HBaseVersion, hbaseBody),
		Prepare: func(ctx context.Context, p Ports) error {
			h, err := hbaseServer(ctx)
			if err != nil {
				return err
			}
			return h.CreateTable(runName("hbase", p), "cf")
		},
		Conf: func(p Ports) string {
			return stressSource(p.Events) + memoryChannel + "a1.channels.c1.keep-alive = 60\n" + fmt.Sprintf("a1.sinks = k1\n"+
				"a1.sinks.k1.type = hbase2\na1.sinks.k1.channel = c1\n"+
				"a1.sinks.k1.table = %s\na1.sinks.k1.columnFamily = cf\n"+
				"a1.sinks.k1.zookeeperQuorum = %s\na1.sinks.k1.batchSize = %d\n"+
				"a1.sinks.k1.serializer = org.apache.flume.sink.hbase2.SimpleHBase2EventSerializer\n"+
				"a1.sinks.k1.coalesceIncrements = true\n",
				runName("hbase", p), hbaseNow().ZK(), hbaseBatch)
		},
		BodySize:  hbaseBody,
		SinkKey:   "SINK.k1",
		FlumePeer: "flume-hbase",
		Verify: func(p Ports) error {
			n, err := hbaseCounter(hbaseNow().ZK(), runName("hbase", p))
			if err != nil {
				return err
			}
			if n != int64(p.Events) {
				return fmt.Errorf("incRow:cf:iCol is %d, not %d", n, p.Events)
			}
			return nil
		},
	}
}

// hbaseCounter reads incRow:cf:iCol with a native client.
func hbaseCounter(zk, table string) (int64, error) {
	logrus.SetLevel(logrus.WarnLevel) // not the client's region lookups
	cl := gohbase.NewClient(zk)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	get, err := hrpc.NewGetStr(ctx, table, "incRow", hrpc.Families(map[string][]string{"cf": {"iCol"}}))
	if err != nil {
		return 0, err
	}
	res, err := cl.Get(get)
	if err != nil {
		return 0, fmt.Errorf("hbase: read the counter of %s: %w", table, err)
	}
	if len(res.Cells) != 1 || len(res.Cells[0].Value) != 8 {
		return 0, fmt.Errorf("hbase: %s has no counter incRow:cf:iCol", table)
	}
	return int64(binary.BigEndian.Uint64(res.Cells[0].Value)), nil
}

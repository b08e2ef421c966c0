// A standalone HBase for tests and benchmarks: an embedded ZooKeeper, then
// one HMaster and one RegionServer (LocalHBaseCluster) in this JVM, all on
// loopback, data on the local file system. A small control port lets the Go
// harness create and drop tables and read cells back with HBase's own Java
// client, in this JVM (no JVM start per command).
//
//   java -cp 'lib/*' HBasePeer.java <zkPort> <masterPort> <rsPort> <dir>
//        [--table name:cf1,cf2]... [key=value...]
//
// The HBase root dir (<dir>/hbase) survives a restart; ZooKeeper's state is
// started afresh each time (HBase 2.6 keeps what it needs in the root dir).
// Once a Put and a Get on a probe table work, it prints
// "HBASE_READY zk=127.0.0.1:<zkPort> control=<port>".
//
// Control protocol: one request per connection, a line of tab-separated
// words; table names are plain, byte strings (rows, families, qualifiers,
// values) are base64:
//   create <table> <family>...      create the table, or add missing families
//   drop <table>                    disable and delete it (if it exists)
//   tables                          one table name per line
//   scan <table>                    one line per cell:
//                                   row TAB family TAB qualifier TAB timestamp TAB value
//   put <table> <row> <family> <qualifier> <value>
//   stop-regionserver               abort the RegionServer (a crash: memstores
//                                   not flushed) and wait until it is gone
//   start-regionserver              start a RegionServer again on the same port
//                                   and wait until the crash is handled and no
//                                   region is in transition
//   dump <table>                    the cells for people, one per line, bytes
//                                   as the HBase shell shows them:
//                                   row TAB family:qualifier TAB value
// The answer is "OK <length>\n" and that many bytes, or "ERR <message>\n".
import java.io.*;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hbase.*;
import org.apache.hadoop.hbase.client.*;
import org.apache.hadoop.hbase.master.HMaster;
import org.apache.hadoop.hbase.util.Bytes;
import org.apache.hadoop.hbase.util.JVMClusterUtil;
import org.apache.hadoop.hbase.zookeeper.MiniZooKeeperCluster;
import org.apache.hadoop.metrics2.lib.DefaultMetricsSystem;

public class HBasePeer {
  static final String PROBE = "sluice_peer_probe";
  static final Base64.Encoder B64 = Base64.getEncoder();
  static final Base64.Decoder D64 = Base64.getDecoder();
  static Connection conn;
  static LocalHBaseCluster cluster;

  public static void main(String[] a) {
    try {
      run(a);
    } catch (Throwable e) {
      // Without an exit the JVM would hang on HBase's non-daemon threads.
      System.err.println("HBASE_FAILED " + e);
      e.printStackTrace();
      System.err.flush();
      Runtime.getRuntime().halt(1);
    }
  }

  static void run(String[] a) throws Exception {
    int zkPort = Integer.parseInt(a[0]);
    int masterPort = Integer.parseInt(a[1]);
    int rsPort = Integer.parseInt(a[2]);
    Path dir = Paths.get(a[3]).toAbsolutePath();
    Map<String, List<String>> tables = new LinkedHashMap<>();
    Configuration conf = HBaseConfiguration.create();
    conf.setBoolean("hbase.cluster.distributed", false);
    conf.set("hbase.rootdir", dir.resolve("hbase").toUri().toString());
    conf.set("hbase.tmp.dir", dir.resolve("tmp").toString());
    conf.set("hbase.wal.provider", "filesystem");
    conf.setBoolean("hbase.unsafe.stream.capability.enforce", false);
    conf.setInt("hbase.master.info.port", -1);
    conf.setInt("hbase.regionserver.info.port", -1);
    conf.setInt("hbase.master.port", masterPort);
    conf.setInt("hbase.regionserver.port", rsPort);
    conf.setBoolean("hbase.localcluster.assign.random.ports", false);
    conf.set("hbase.master.ipc.address", "127.0.0.1");
    conf.set("hbase.regionserver.ipc.address", "127.0.0.1");
    conf.set("hbase.master.hostname", "127.0.0.1");
    conf.set("hbase.unsafe.regionserver.hostname", "127.0.0.1");
    conf.set("hbase.zookeeper.quorum", "127.0.0.1");
    conf.setInt("hbase.zookeeper.property.clientPort", zkPort);
    // A restarted peer must not wait out the old region server's lease.
    conf.setInt("zookeeper.session.timeout", 10000);
    for (int i = 4; i < a.length; i++) {
      if (a[i].equals("--table")) {
        String spec = a[++i];
        int c = spec.indexOf(':');
        if (c <= 0 || c == spec.length() - 1) {
          throw new IllegalArgumentException("--table " + spec + ": want name:family[,family...]");
        }
        tables.put(spec.substring(0, c), Arrays.asList(spec.substring(c + 1).split(",")));
        continue;
      }
      int eq = a[i].indexOf('=');
      if (eq <= 0) throw new IllegalArgumentException("argument " + a[i] + ": want key=value or --table");
      conf.set(a[i].substring(0, eq), a[i].substring(eq + 1));
    }

    // As HBase's own mini clusters do: a RegionServer started again in this
    // JVM (start-regionserver) registers its metrics under a new name
    // instead of failing on the aborted one's.
    DefaultMetricsSystem.setMiniClusterMode(true);
    Path zkDir = dir.resolve("zk");
    deleteTree(zkDir);
    MiniZooKeeperCluster zk = new MiniZooKeeperCluster(conf);
    zk.setDefaultClientPort(zkPort);
    int got = zk.startup(zkDir.toFile());
    if (got != zkPort) throw new IOException("ZooKeeper could not bind 127.0.0.1:" + zkPort + " (got " + got + ")");

    cluster = new LocalHBaseCluster(conf, 1, 1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        if (conn != null) conn.close();
        cluster.shutdown();
        cluster.join();
        zk.shutdown();
      } catch (Throwable e) {
        System.err.println("shutdown: " + e);
      }
    }));
    cluster.startup();
    long deadline = System.currentTimeMillis() + 240_000;
    while (true) {
      HMaster m = cluster.getActiveMaster();
      if (m != null && m.isInitialized()) break;
      if (System.currentTimeMillis() > deadline) throw new IOException("HMaster not initialized within 240 s");
      if (cluster.getMasters().stream().noneMatch(t -> t.isAlive())) throw new IOException("HMaster exited during start");
      Thread.sleep(100);
    }
    conn = ConnectionFactory.createConnection(conf);
    tables.put(PROBE, List.of("f"));
    for (Map.Entry<String, List<String>> e : tables.entrySet()) create(e.getKey(), e.getValue());
    try (Table t = conn.getTable(TableName.valueOf(PROBE))) {
      byte[] row = "probe".getBytes(StandardCharsets.UTF_8), f = "f".getBytes(StandardCharsets.UTF_8);
      byte[] v = Long.toString(System.currentTimeMillis()).getBytes(StandardCharsets.UTF_8);
      t.put(new Put(row).addColumn(f, f, v));
      if (!Arrays.equals(t.get(new Get(row)).getValue(f, f), v)) throw new IOException("probe Get did not return the Put");
    }

    ServerSocket ctl = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    System.out.println("HBASE_READY zk=127.0.0.1:" + zkPort + " control=" + ctl.getLocalPort());
    System.out.flush();
    while (true) {
      Socket s = ctl.accept();
      Thread h = new Thread(() -> serve(s), "control");
      h.setDaemon(true);
      h.start();
    }
  }

  static void serve(Socket s) {
    try (s) {
      BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
      OutputStream out = s.getOutputStream();
      String line = in.readLine();
      if (line == null) return;
      String[] w = line.split("\t", -1);
      byte[] body;
      try {
        body = command(w);
      } catch (Throwable e) {
        String msg = e.toString().replace('\n', ' ');
        out.write(("ERR " + msg + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        return;
      }
      out.write(("OK " + body.length + "\n").getBytes(StandardCharsets.UTF_8));
      out.write(body);
      out.flush();
    } catch (IOException e) {
      System.err.println("control: " + e);
    }
  }

  static byte[] command(String[] w) throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    switch (w[0]) {
      case "create":
        if (w.length < 3) throw new IllegalArgumentException("usage: create <table> <family>...");
        create(w[1], Arrays.asList(w).subList(2, w.length));
        break;
      case "drop":
        try (Admin admin = conn.getAdmin()) {
          TableName tn = TableName.valueOf(w[1]);
          if (admin.tableExists(tn)) {
            if (admin.isTableEnabled(tn)) admin.disableTable(tn);
            admin.deleteTable(tn);
          }
        }
        break;
      case "tables":
        try (Admin admin = conn.getAdmin()) {
          for (TableName tn : admin.listTableNames()) {
            b.write((tn.getNameAsString() + "\n").getBytes(StandardCharsets.UTF_8));
          }
        }
        break;
      case "scan":
        try (Table t = conn.getTable(TableName.valueOf(w[1]));
            ResultScanner rs = t.getScanner(new Scan().readVersions(1))) {
          for (Result r : rs) {
            for (Cell c : r.rawCells()) {
              String l = B64.encodeToString(CellUtil.cloneRow(c)) + "\t"
                  + B64.encodeToString(CellUtil.cloneFamily(c)) + "\t"
                  + B64.encodeToString(CellUtil.cloneQualifier(c)) + "\t"
                  + c.getTimestamp() + "\t"
                  + B64.encodeToString(CellUtil.cloneValue(c)) + "\n";
              b.write(l.getBytes(StandardCharsets.UTF_8));
            }
          }
        }
        break;
      case "dump":
        try (Table t = conn.getTable(TableName.valueOf(w[1]));
            ResultScanner rs = t.getScanner(new Scan().readVersions(1))) {
          for (Result r : rs) {
            for (Cell c : r.rawCells()) {
              String l = Bytes.toStringBinary(CellUtil.cloneRow(c)) + "\t"
                  + Bytes.toStringBinary(CellUtil.cloneFamily(c)) + ":"
                  + Bytes.toStringBinary(CellUtil.cloneQualifier(c)) + "\t"
                  + Bytes.toStringBinary(CellUtil.cloneValue(c)) + "\n";
              b.write(l.getBytes(StandardCharsets.UTF_8));
            }
          }
        }
        break;
      case "stop-regionserver":
        for (JVMClusterUtil.RegionServerThread t : cluster.getLiveRegionServers()) {
          ServerName sn = t.getRegionServer().getServerName();
          t.getRegionServer().abort("stopped by the test harness (stop-regionserver)");
          t.join(120_000);
          if (t.isAlive()) throw new IOException("RegionServer still running 120 s after abort");
          // Return once the master knows: a RegionServer started before
          // that would race the master's crash handling of this one.
          long deadline = System.currentTimeMillis() + 120_000;
          while (cluster.getActiveMaster().getServerManager().isServerOnline(sn)) {
            if (System.currentTimeMillis() > deadline) throw new IOException("master still lists " + sn + " online 120 s after its abort");
            Thread.sleep(100);
          }
        }
        break;
      case "start-regionserver":
        // Should a new RegionServer fail its start, try again a few times.
        for (int attempt = 1; cluster.getLiveRegionServers().isEmpty(); attempt++) {
          JVMClusterUtil.RegionServerThread t =
              cluster.addRegionServer(new Configuration(cluster.getConfiguration()), cluster.getRegionServers().size());
          t.start();
          t.waitForServerOnline();
          if (t.getRegionServer().isOnline()) break;
          t.join(60_000);
          if (attempt == 10) throw new IOException("RegionServer failed to start 10 times (see the log)");
          Thread.sleep(1000);
        }
        waitSettled(240_000);
        break;
      case "put":
        if (w.length != 6) throw new IllegalArgumentException("usage: put <table> <row> <family> <qualifier> <value>");
        try (Table t = conn.getTable(TableName.valueOf(w[1]))) {
          t.put(new Put(D64.decode(w[2])).addColumn(D64.decode(w[3]), D64.decode(w[4]), D64.decode(w[5])));
        }
        break;
      default:
        throw new IllegalArgumentException("unknown command " + w[0]);
    }
    return b.toByteArray();
  }

  // waitSettled waits until the master has a RegionServer and no region is
  // in transition: every table is served again.
  static void waitSettled(long ms) throws Exception {
    long deadline = System.currentTimeMillis() + ms;
    while (true) {
      HMaster m = cluster.getActiveMaster();
      if (m != null && m.isInitialized() && !m.getServerManager().getOnlineServersList().isEmpty()
          && !m.getServerManager().areDeadServersInProgress()
          && !m.getAssignmentManager().hasRegionsInTransition()) {
        return;
      }
      if (System.currentTimeMillis() > deadline) throw new IOException("regions still in transition after " + ms / 1000 + " s");
      Thread.sleep(100);
    }
  }

  // create makes the table with these families, or adds the ones it lacks.
  static void create(String table, List<String> families) throws IOException {
    TableName tn = TableName.valueOf(table);
    try (Admin admin = conn.getAdmin()) {
      if (!admin.tableExists(tn)) {
        TableDescriptorBuilder td = TableDescriptorBuilder.newBuilder(tn);
        for (String f : families) td.setColumnFamily(ColumnFamilyDescriptorBuilder.of(f));
        admin.createTable(td.build());
        return;
      }
      TableDescriptor have = admin.getDescriptor(tn);
      for (String f : families) {
        if (!have.hasColumnFamily(f.getBytes(StandardCharsets.UTF_8))) {
          admin.addColumnFamily(tn, ColumnFamilyDescriptorBuilder.of(f));
        }
      }
    }
  }

  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) return;
    try (var walk = Files.walk(p)) {
      for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
    }
  }
}

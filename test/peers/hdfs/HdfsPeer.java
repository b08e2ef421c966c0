// A single-process HDFS for tests and benchmarks: MiniDFSCluster (one
// NameNode, one DataNode) on loopback, plus a small control port so the Go
// harness can stop and start the DataNode and run Hadoop's own FsShell and
// DFSAdmin in this JVM (no JVM start per command).
//
//   java -cp 'lib/*' HdfsPeer.java <nnPort> <baseDir> [key=value...]
//
// The base dir is formatted on the first start only, so a restart keeps the
// data. Prints "HDFS_READY hdfs://127.0.0.1:<port> control=<port>" once the
// cluster is active.
//
// Control protocol: one request per connection, a line of tab-separated
// words: "stop-datanode", "start-datanode", "fs <args...>" or
// "dfsadmin <args...>". The answer is a line "OK <exit> <outLen> <errLen>"
// (or "ERR <message>") followed by the command's stdout and stderr bytes.
import java.io.*;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.Arrays;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FsShell;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.tools.DFSAdmin;
import org.apache.hadoop.util.Tool;
import org.apache.hadoop.util.ToolRunner;

public class HdfsPeer {
  static MiniDFSCluster cluster;
  static MiniDFSCluster.DataNodeProperties stoppedDN;

  public static void main(String[] a) throws Exception {
    int port = Integer.parseInt(a[0]);
    Path base = Paths.get(a[1]).toAbsolutePath();
    Path marker = base.resolve(".formatted");
    boolean format = !Files.exists(marker);
    Configuration conf = new HdfsConfiguration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toString());
    conf.setInt("dfs.replication", 1);
    for (int i = 2; i < a.length; i++) {
      int eq = a[i].indexOf('=');
      conf.set(a[i].substring(0, eq), a[i].substring(eq + 1));
    }
    cluster = new MiniDFSCluster.Builder(conf).nameNodePort(port).nameNodeHttpPort(0)
        .numDataNodes(1).format(format).build();
    cluster.waitActive();
    cluster.waitClusterUp();
    if (format) Files.createFile(marker);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> cluster.shutdown()));
    ServerSocket ctl = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    System.out.println("HDFS_READY hdfs://127.0.0.1:" + cluster.getNameNodePort() + " control=" + ctl.getLocalPort());
    System.out.flush();
    PrintStream realOut = System.out, realErr = System.err;
    while (true) {
      try (Socket s = ctl.accept()) {
        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        OutputStream out = s.getOutputStream();
        String line = in.readLine();
        if (line == null) continue;
        String[] w = line.split("\t", -1);
        String[] rest = Arrays.copyOfRange(w, 1, w.length);
        ByteArrayOutputStream ob = new ByteArrayOutputStream(), eb = new ByteArrayOutputStream();
        int exit = 0;
        try {
          switch (w[0]) {
            case "stop-datanode":
              if (stoppedDN == null) stoppedDN = cluster.stopDataNode(0);
              break;
            case "start-datanode":
              if (stoppedDN != null) {
                cluster.restartDataNode(stoppedDN, true);
                stoppedDN = null;
                cluster.waitActive();
              }
              break;
            case "fs":
            case "dfsadmin":
              Configuration c = new Configuration(cluster.getConfiguration(0));
              c.set("fs.defaultFS", "hdfs://127.0.0.1:" + cluster.getNameNodePort());
              Tool tool = w[0].equals("fs") ? new FsShell(c) : new DFSAdmin(c);
              System.setOut(new PrintStream(ob, true));
              System.setErr(new PrintStream(eb, true));
              try {
                exit = ToolRunner.run(c, tool, rest);
              } finally {
                System.out.flush();
                System.err.flush();
                System.setOut(realOut);
                System.setErr(realErr);
              }
              break;
            default:
              throw new IllegalArgumentException("unknown command " + w[0]);
          }
        } catch (Throwable e) {
          out.write(("ERR " + e.toString().replace('\n', ' ') + "\n").getBytes(StandardCharsets.UTF_8));
          out.flush();
          continue;
        }
        byte[] o = ob.toByteArray(), e = eb.toByteArray();
        out.write(("OK " + exit + " " + o.length + " " + e.length + "\n").getBytes(StandardCharsets.UTF_8));
        out.write(o);
        out.write(e);
        out.flush();
      } catch (IOException e) {
        realErr.println("control: " + e);
      }
    }
  }
}

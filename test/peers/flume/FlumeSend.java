// FlumeSend sends events through Flume's own client SDK (RpcClientFactory),
// so Sluice's avro and thrift sources can be tested against the real client.
//
//   java -cp '.peers/flume/lib/*' test/peers/flume/FlumeSend.java EVENTS-FILE [key=value ...]
//
// EVENTS-FILE is in the format internal/peers.WriteEventFile writes (all ints
// big-endian 32-bit, strings UTF-8):
//   "FSND" version(=1) count, then count x { nheaders, nheaders x { klen key vlen value }, blen body }
//
// Every key=value is an RpcClient property, passed to
// RpcClientFactory.getInstance unchanged: client.type, hosts, hosts.<h>,
// batch-size, compression-type, compression-level, ssl, truststore,
// truststore-password, truststore-type, trust-all-certs, request-timeout, ...
// Keys starting with "flumesend." are ours:
//   flumesend.mode = batch (default: appendBatch per batch-size events) | append (one append per event)
//
// Exit status: 0 when every event was acknowledged; 1 on any failure (with
// the stack trace on stderr); 2 on bad usage.
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.flume.Event;
import org.apache.flume.api.RpcClient;
import org.apache.flume.api.RpcClientFactory;
import org.apache.flume.event.EventBuilder;
import org.apache.flume.util.SSLUtil;

public class FlumeSend {
  public static void main(String[] args) {
    if (args.length < 1) {
      System.err.println("usage: FlumeSend EVENTS-FILE [key=value ...]");
      System.exit(2);
    }
    Properties props = new Properties();
    String mode = "batch";
    for (int i = 1; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      if (eq <= 0) {
        System.err.println("FlumeSend: not key=value: " + args[i]);
        System.exit(2);
      }
      String k = args[i].substring(0, eq), v = args[i].substring(eq + 1);
      if (k.equals("flumesend.mode")) {
        mode = v;
      } else {
        props.setProperty(k, v);
      }
    }
    if (!mode.equals("batch") && !mode.equals("append")) {
      System.err.println("FlumeSend: flumesend.mode must be batch or append, not " + mode);
      System.exit(2);
    }
    int status = 1;
    try {
      List<Event> events = read(args[0]);
      SSLUtil.initGlobalSSLParameters(); // as Flume's own avro-client does
      RpcClient client = RpcClientFactory.getInstance(props);
      int calls = 0;
      try {
        if (mode.equals("append")) {
          for (Event e : events) {
            client.append(e);
            calls++;
          }
        } else {
          int n = client.getBatchSize();
          for (int i = 0; i < events.size(); i += n) {
            client.appendBatch(events.subList(i, Math.min(i + n, events.size())));
            calls++;
          }
        }
      } finally {
        client.close();
      }
      System.out.println("FlumeSend: sent " + events.size() + " events in " + calls + " calls (" + mode + ")");
      status = 0;
    } catch (Throwable t) {
      System.err.println("FlumeSend: FAILED: " + t);
      t.printStackTrace();
    }
    System.out.flush();
    System.err.flush();
    // Exit explicitly: a client's non-daemon threads must not keep the JVM up.
    System.exit(status);
  }

  static List<Event> read(String path) throws IOException {
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(new FileInputStream(path)))) {
      byte[] magic = new byte[4];
      in.readFully(magic);
      if (!new String(magic, StandardCharsets.US_ASCII).equals("FSND")) {
        throw new IOException(path + ": not an FSND event file");
      }
      int version = in.readInt();
      if (version != 1) {
        throw new IOException(path + ": event file version " + version + ", want 1");
      }
      int count = in.readInt();
      List<Event> events = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        int nh = in.readInt();
        Map<String, String> headers = new HashMap<>();
        for (int j = 0; j < nh; j++) {
          String k = new String(bytes(in), StandardCharsets.UTF_8);
          headers.put(k, new String(bytes(in), StandardCharsets.UTF_8));
        }
        events.add(EventBuilder.withBody(bytes(in), headers));
      }
      return events;
    }
  }

  static byte[] bytes(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0) {
      throw new IOException("negative length " + n);
    }
    byte[] b = new byte[n];
    in.readFully(b);
    return b;
  }
}

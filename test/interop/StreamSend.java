// StreamSend is FlumeSend (test/peers/flume/FlumeSend.java) for big sends:
// it reads the same FSND event file one batch at a time instead of all at
// once, so 100,000 events of up to 2 KiB fit the 128 MiB heap that
// peers.RunJava gives a client, and one JVM sends them all.
//
//   java -cp '.peers/flume/lib/*' test/interop/StreamSend.java EVENTS-FILE [key=value ...]
//
// Every key=value goes to RpcClientFactory.getInstance unchanged
// (client.type, hosts, hosts.<h>, batch-size, compression-type, ssl, ...).
// Each batch of batch-size events is sent with one appendBatch call.
// Exit status: 0 when every call was acknowledged, 1 on any failure (with
// the stack trace), 2 on bad usage.
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

public class StreamSend {
  public static void main(String[] args) {
    if (args.length < 1) {
      System.err.println("usage: StreamSend EVENTS-FILE [key=value ...]");
      System.exit(2);
    }
    Properties props = new Properties();
    for (int i = 1; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      if (eq <= 0) {
        System.err.println("StreamSend: not key=value: " + args[i]);
        System.exit(2);
      }
      props.setProperty(args[i].substring(0, eq), args[i].substring(eq + 1));
    }
    int status = 1;
    try (DataInputStream in = new DataInputStream(
        new BufferedInputStream(new FileInputStream(args[0]), 1 << 16))) {
      int total = header(in, args[0]);
      SSLUtil.initGlobalSSLParameters(); // as Flume's avro-client does
      RpcClient client = RpcClientFactory.getInstance(props);
      int calls = 0;
      try {
        int batch = client.getBatchSize();
        List<Event> events = new ArrayList<>(batch);
        for (int sent = 0; sent < total; sent += events.size()) {
          events.clear();
          for (int i = 0; i < batch && sent + i < total; i++) {
            events.add(event(in));
          }
          client.appendBatch(events);
          calls++;
        }
      } finally {
        client.close();
      }
      System.out.println("StreamSend: sent " + total + " events in " + calls + " calls");
      status = 0;
    } catch (Throwable t) {
      System.err.println("StreamSend: FAILED: " + t);
      t.printStackTrace();
    }
    System.out.flush();
    System.err.flush();
    // The client's non-daemon threads must not keep the JVM alive.
    System.exit(status);
  }

  // header checks the magic and version and returns the event count.
  static int header(DataInputStream in, String path) throws IOException {
    byte[] magic = new byte[4];
    in.readFully(magic);
    if (!new String(magic, StandardCharsets.US_ASCII).equals("FSND") || in.readInt() != 1) {
      throw new IOException(path + ": not a version 1 FSND event file");
    }
    return in.readInt();
  }

  static Event event(DataInputStream in) throws IOException {
    int n = in.readInt();
    Map<String, String> headers = new HashMap<>();
    for (int j = 0; j < n; j++) {
      String k = new String(bytes(in), StandardCharsets.UTF_8);
      headers.put(k, new String(bytes(in), StandardCharsets.UTF_8));
    }
    return EventBuilder.withBody(bytes(in), headers);
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

// Writes a SequenceFile with Hadoop's own SequenceFile.Writer the way
// Flume's HDFSSequenceFile does (createWriter on a stream, no metadata,
// uncompressed, Writer.sync() after each batch), so the hdfs sink's test
// can compare Sluice's bytes with Hadoop's.
//
// java -cp '<hdfs peer lib>/*' SeqWrite.java <out> <Writable|Text> < records
// records: one per line, "<timestamp> <body>"; a line "FLUSH" ends a batch.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.BytesWritable;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.SequenceFile;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.io.Writable;

public class SeqWrite {
  public static void main(String[] args) throws Exception {
    Configuration conf = new Configuration();
    FileSystem fs = FileSystem.getLocal(conf).getRaw();
    FSDataOutputStream out = fs.create(new Path(args[0]));
    boolean text = args[1].equals("Text");
    SequenceFile.Writer w = SequenceFile.createWriter(conf, out, LongWritable.class,
        text ? Text.class : BytesWritable.class, SequenceFile.CompressionType.NONE, null);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      if (line.equals("FLUSH")) {
        w.sync();
        out.hflush();
        continue;
      }
      int sp = line.indexOf(' ');
      byte[] body = line.substring(sp + 1).getBytes(StandardCharsets.UTF_8);
      Writable v;
      if (text) {
        Text t = new Text();
        t.set(body, 0, body.length);
        v = t;
      } else {
        BytesWritable b = new BytesWritable();
        b.set(body, 0, body.length);
        v = b;
      }
      w.append(new LongWritable(Long.parseLong(line.substring(0, sp))), v);
    }
    w.close();
    out.close();
  }
}

package hdfs

const notes = `Differences from Flume's HDFSEventSink:

- **Events commit only once HDFS has them.** Each batch is written and every file it touched is
  flushed to the DataNodes, and the sink waits for the DataNodes' acknowledgement of every packet
  (what Java's hflush waits for) before the channel commits. The Go HDFS client does not wait for
  them itself, so the sink follows the acknowledgements on the DataNode connections it dials; where
  it cannot (a data-transfer protection it cannot read), it warns once and closes the file after
  each batch and reopens it for append instead, which waits for them as well but costs NameNode calls.
- **A failed batch is cut off.** When a write or flush fails (DataNode or NameNode away, timeout),
  the files the batch touched are given up: their leases are recovered, they are truncated back to
  the end of the last committed batch (removed when nothing in them was committed) and renamed to
  their final names, and the retried batch goes to new files. Flume closes the file with the
  partial batch in it, so a retry duplicates it.
- **A close that failed while HDFS was away is retried every 2 seconds** while HDFS cannot be
  reached or the NameNode is in safe mode (as after a restart), and at once when the sink connects
  again, not only every hdfs.retryInterval (3 minutes by default): until the file is closed its committed events may not
  be readable (a file under construction whose writer is gone). A file's lease is never recovered
  while the NameNode knows no replica of its last block (right after a NameNode restart, before
  the DataNodes have reported): the NameNode would drop that block as empty, flushed events and
  all. The sink waits for the reports instead (logged once).
- **In-use files left by a crash are recovered at start** (hdfs.recoverInUseFiles, default true):
  under the fixed part of hdfs.path (the text before the first escape, up to its last '/'), files
  named inUsePrefix + the fixed part of filePrefix ... inUseSuffix have their lease recovered and
  are renamed to their final names (not when that fixed part is just '/': the whole file system
  would be walked). A clean stop waits (up to 8 seconds, within the stop's own bound) for the
  lease recoveries it asked for, so it leaves no file in use. Flume leaves them as .tmp for good.
  Give two agents writing
  the same directory different file prefixes (or turn this off), or one would close the other's files.
- **Header values cannot leave hdfs.path.** In a value put into the path or file name by %{header}
  (or %[localhost]...), '/', '\\', NUL and other control characters become '_', and a value made only
  of dots becomes as many underscores, so a header can neither add a directory level nor climb out
  with '..'. Flume puts values in as they are.
- **A missing or bad timestamp header** (with time escapes and without hdfs.useLocalTimeStamp) rejects
  that event: the batch rolls back, as in Flume, with an error saying what to add, or, with the
  sink's deadLetter.* set, the event is set aside and the rest of the batch written.
- **Existing files are never overwritten**: when the next name is taken the counter moves on. Flume's
  create overwrites.
- **Compression** (codeC): gzip, deflate/DefaultCodec, snappy and lz4 for CompressedStream, each
  batch ending a compressed unit as in Flume; Hadoop reads all four without native libraries
  (snappy and lz4 through snappy-java and lz4-java, Hadoop 3.3.1 and later). SequenceFiles are
  block-compressed with deflate (DefaultCodec) only: Hadoop needs its native library for gzip
  SequenceFiles. bzip2 (Go has no compressor) and zstd (Hadoop reads it only with its native
  library) are refused at configuration time.
- **SequenceFile** writeFormat Writable (LongWritable timestamp key, BytesWritable body) and Text;
  custom SequenceFile serializer classes are not supported.
- **Kerberos is not supported**: hdfs.kerberosPrincipal/kerberosKeytab are refused. On a cluster
  without Kerberos, hdfs.user (Sluice extension) or hdfs.proxyUser names the user to act as
  (default HADOOP_USER_NAME, else the OS user); no impersonation ACL is involved.
- **hdfs.path** must be hdfs://host:port/dir, hdfs://nameservice/dir (resolved through the
  HADOOP_CONF_DIR configuration) or /dir on fs.defaultFS; other file systems are refused.
- **hdfs.timeZone** must be a known zone name (Java silently uses GMT for an unknown one).
- Time-based rolls (rollInterval) and idle closes (idleTimeout) are checked on every batch and
  while the channel is empty, so a file closes at most about a second late. hdfs.threadsPoolSize and
  hdfs.rollTimerPoolSize are accepted and ignored; hdfs.minBlockReplicas is accepted, and files are not
  rolled on under-replication. hdfs.callTimeout bounds each network read and write to HDFS.
`

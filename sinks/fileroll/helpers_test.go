package fileroll

import "bufio"

// bufioSize swaps an open file's buffer for a tiny one, so writes reach the
// file before the batch ends.
func bufioSize(f *openFile, n int) *bufio.Writer {
	bw := bufio.NewWriterSize(&f.cw, n)
	f.ser.(*flaky).w = bw
	return bw
}

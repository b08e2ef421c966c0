package exec

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	osexec "os/exec"
	"strings"
	"sync"
)

// child is one run of the command.
type child struct {
	cmd    *osexec.Cmd
	pid    int
	stdout *os.File // read end; the source closes it when done

	exited     chan struct{} // closed once the command has been waited for
	state      *os.ProcessState
	waitErr    error
	stderrDone chan struct{}

	mu   sync.Mutex
	tail []string // last stderr lines, for the exit message
}

const (
	tailLines   = 5
	maxLogLine  = 4 << 10
	maxTailLine = 512
)

// spawn starts the command with its output on pipes the source owns, so
// that waiting for the process and reading its output are independent.
func spawn(argv []string, logStderr bool, log *slog.Logger) (*child, error) {
	if len(argv) == 0 {
		return nil, errors.New("empty command")
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd := osexec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = outW, errW
	ownGroup(cmd)
	err = cmd.Start()
	// The child has its own copies; ours must go so EOF arrives when it exits.
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	c := &child{cmd: cmd, pid: cmd.Process.Pid, stdout: outR, exited: make(chan struct{}), stderrDone: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		c.state = cmd.ProcessState
		close(c.exited)
	}()
	go c.readStderr(errR, logStderr, log)
	return c, nil
}

// readStderr drains standard error (a full pipe would block the command),
// logging each line when asked and keeping the last few.
func (c *child) readStderr(r *os.File, logIt bool, log *slog.Logger) {
	defer close(c.stderrDone)
	defer r.Close()
	br := bufio.NewReaderSize(r, 4096)
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			// A long line arrives in pieces; each piece is logged on its own.
			text := strings.TrimRight(string(line[:min(len(line), maxLogLine)]), "\r\n")
			n++
			if logIt {
				log.Info("exec source: command stderr", "line", n, "text", text)
			}
			c.mu.Lock()
			if len(c.tail) == tailLines {
				c.tail = c.tail[1:]
			}
			c.tail = append(c.tail, text[:min(len(text), maxTailLine)])
			c.mu.Unlock()
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				log.Debug("exec source: reading stderr failed", "err", err)
			}
			return
		}
	}
}

func (c *child) stderrTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.tail, "\n")
}

// status describes how the command ended.
func (c *child) status() (string, bool) {
	if c.state == nil {
		return fmt.Sprintf("unknown (%v)", c.waitErr), false
	}
	return c.state.String(), c.state.Success()
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// screen collects what a pseudo-terminal shows.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until text has appeared n times on the screen.
func (s *screen) waitFor(t *testing.T, text string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(s.String(), text) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%q did not appear %d times; the screen:\n%s", text, n, s.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInteractiveShell drives an interactive bash in a new pid namespace
// through a pseudo-terminal, as a person at a terminal would: Ctrl-C stops a
// sleep but not the shell, Ctrl-Z and fg work, and exit 3 is unsh's status.
func TestInteractiveShell(t *testing.T) {
	needIntegration(t)
	const prompt = "unsh-test$ "
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sb := sandbox{subuid: subids, subgid: subids, env: []string{"PS1=" + prompt, "TERM=dumb"}}
	cmd := sb.command(t, ctx, unshBin, "-p", "--mount-proc", "--", "bash", "--norc", "--noprofile", "-i")
	// pty.Start makes the pty unsh's controlling terminal, in a session of
	// its own, with unsh's process group in the foreground: a login's shape.
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var out screen
	go func() { _, _ = out.ReadFrom(tty) }()
	send := func(keys string) {
		if _, err := tty.Write([]byte(keys)); err != nil {
			t.Fatal(err)
		}
	}

	out.waitFor(t, prompt, 1)
	send("sleep 100\r")
	time.Sleep(300 * time.Millisecond)
	send("\x03") // Ctrl-C
	out.waitFor(t, prompt, 2)

	send("sleep 100\r")
	time.Sleep(300 * time.Millisecond)
	send("\x1a") // Ctrl-Z
	out.waitFor(t, "Stopped", 1)
	out.waitFor(t, prompt, 3)
	send("fg\r")
	time.Sleep(300 * time.Millisecond)
	send("\x03")
	out.waitFor(t, prompt, 4)

	send("exit 3\r")
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 3 {
		t.Errorf("exit %d (%v), want 3; the screen:\n%s", code, err, out.String())
	}
	for _, warning := range []string{"cannot set terminal process group", "no job control"} {
		if strings.Contains(out.String(), warning) {
			t.Errorf("bash warned %q; the screen:\n%s", warning, out.String())
		}
	}
}

// startOnTerminal starts unsh with args on a new pseudo-terminal, as a login
// shell would start a job: unsh's process group in the foreground.
func startOnTerminal(t *testing.T, args ...string) (*exec.Cmd, *os.File, *screen) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := sandbox{subuid: subids, subgid: subids}.command(t, ctx, append([]string{unshBin}, args...)...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	out := &screen{}
	go func() { _, _ = out.ReadFrom(tty) }()
	return cmd, tty, out
}

// sigcount counts the SIGINTs it gets in a second and a half.
const sigcount = `#include <signal.h>
#include <stdio.h>
#include <time.h>
static volatile sig_atomic_t count;
static void on_int(int sig) { (void)sig; count++; }
int main(void)
{
	struct timespec left = { 1, 500000000 };
	signal(SIGINT, on_int);
	printf("ready\n");
	fflush(stdout);
	while (nanosleep(&left, &left) != 0)
		;
	printf("got %d\n", (int)count);
	return 0;
}
`

// TestTerminalSignalOnce: Ctrl-C reaches the command once, not twice (the
// terminal and unsh passing it on).
func TestTerminalSignalOnce(t *testing.T) {
	needIntegration(t)
	counter := cProgram(t, "sigcount", sigcount)
	cmd, tty, out := startOnTerminal(t, "-r", "--", counter)
	out.waitFor(t, "ready", 1)
	if _, err := tty.Write([]byte("\x03")); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if !strings.Contains(out.String(), "got 1") || cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("want one SIGINT and exit 0; exit %d, the screen:\n%s", cmd.ProcessState.ExitCode(), out.String())
	}
}

// TestTerminalStop: Ctrl-Z stops the command and unsh with it, as a job;
// SIGCONT (what fg sends) continues both, and Ctrl-C then ends the command.
func TestTerminalStop(t *testing.T) {
	needIntegration(t)
	cmd, tty, out := startOnTerminal(t, "-r", "--", "sh", "-c", "echo ready; exec sleep 100")
	out.waitFor(t, "ready", 1)
	if _, err := tty.Write([]byte("\x1a")); err != nil {
		t.Fatal(err)
	}
	waitState(t, cmd.Process.Pid, "T")
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitState(t, cmd.Process.Pid, "S")
	time.Sleep(100 * time.Millisecond)
	if _, err := tty.Write([]byte("\x03")); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Errorf("want unsh dead of SIGINT like its command, got %v; the screen:\n%s", cmd.ProcessState, out.String())
	}
}

// waitState waits until pid's state (from /proc/PID/stat) is state.
func waitState(t *testing.T, pid int, state string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err == nil {
			if f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(f) > 0 && f[0] == state {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d did not reach state %s: %s", pid, state, stat)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ReadFrom copies everything the terminal shows until it closes.
func (s *screen) ReadFrom(r *os.File) (int64, error) {
	var total int64
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		total += int64(n)
		_, _ = s.Write(buf[:n])
		if err != nil {
			return total, err
		}
	}
}

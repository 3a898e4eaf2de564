package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
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

// sigcount counts the SIGINTs it gets in two seconds and a half.
const sigcount = `#include <signal.h>
#include <stdio.h>
#include <time.h>
static volatile sig_atomic_t count;
static void on_int(int sig) { (void)sig; count++; }
int main(void)
{
	struct timespec left = { 2, 500000000 };
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

// TestTerminalStop: in an interactive shell, Ctrl-Z stops the command and
// unsh with it, as one job; fg continues both, and Ctrl-C then ends the
// command, unsh passing its status on (130 = 128+SIGINT).
func TestTerminalStop(t *testing.T) {
	needIntegration(t)
	for _, args := range []string{"-r", "-r --init"} {
		tty, out, done := outerShell(t)
		fmt.Fprintf(tty, "%s %s -- sh -c 'echo ready; exec sleep 100'\r", unshBin, args)
		out.waitFor(t, "ready", 1)
		send(t, tty, "\x1a")
		out.waitFor(t, "Stopped", 1)
		out.waitFor(t, outerPrompt, 2)
		fmt.Fprintf(tty, "fg\r")
		time.Sleep(300 * time.Millisecond)
		send(t, tty, "\x03")
		out.waitFor(t, outerPrompt, 3)
		fmt.Fprintf(tty, "echo status=$?\r")
		out.waitFor(t, "status=130", 1)
		done()
	}
}

const outerPrompt = "outer$ "

// outerShell starts an interactive bash on a new pseudo-terminal, in the
// sandbox as the test user: the shell a person would run unsh from.
// done ends it.
func outerShell(t *testing.T) (tty *os.File, out *screen, done func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	sb := sandbox{subuid: subids, subgid: subids, env: []string{"PS1=" + outerPrompt, "TERM=dumb"}}
	cmd := sb.command(t, ctx, "bash", "--norc", "--noprofile", "-i")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	out = &screen{}
	go func() { _, _ = out.ReadFrom(tty) }()
	out.waitFor(t, outerPrompt, 1)
	return tty, out, func() {
		fmt.Fprintf(tty, "exit\r")
		_ = cmd.Wait()
		tty.Close()
		cancel()
	}
}

func send(t *testing.T, tty *os.File, keys string) {
	t.Helper()
	if _, err := tty.Write([]byte(keys)); err != nil {
		t.Fatal(err)
	}
}

// TestTerminalPipeline: unsh in a pipeline stays one job with its peers:
// Ctrl-C ends them all.
func TestTerminalPipeline(t *testing.T) {
	needIntegration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pipeline := unshBin + " -r -- sh -c 'echo ready; exec sleep 100' | (cat; sleep 100); echo ended"
	cmd := sandbox{subuid: subids, subgid: subids}.command(t, ctx, "/bin/sh", "-c", pipeline)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	out := &screen{}
	go func() { _, _ = out.ReadFrom(tty) }()
	out.waitFor(t, "ready", 1)
	start := time.Now()
	if _, err := tty.Write([]byte("\x03")); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if time.Since(start) > 10*time.Second {
		t.Errorf("the pipeline outlived Ctrl-C; the screen:\n%s", out.String())
	}
}

// TestTerminalBackgroundThenForeground: started in the background and then
// brought to the foreground by an interactive shell, unsh still lets a
// Ctrl-C reach the command once.
func TestTerminalBackgroundThenForeground(t *testing.T) {
	needIntegration(t)
	counter := cProgram(t, "sigcount", sigcount)
	tty, out, done := outerShell(t)
	defer done()
	fmt.Fprintf(tty, "%s -r -- %s &\r", unshBin, counter)
	out.waitFor(t, "ready", 1)
	fmt.Fprintf(tty, "fg\r")
	time.Sleep(300 * time.Millisecond)
	send(t, tty, "\x03")
	out.waitFor(t, "got ", 1)
	if !strings.Contains(out.String(), "got 1") {
		t.Errorf("want one SIGINT; the screen:\n%s", out.String())
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

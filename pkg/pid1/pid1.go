// Package pid1 is the small init of `unsh --init`: PID 1 of the new pid
// namespace, it starts the command, passes signals on to it, reaps every
// orphan that the namespace hands it, and exits with the command's status.
// It knows nothing of maps or of how it came to be PID 1.
package pid1

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// Run starts argv and serves as its init; the result is the exit status.
// The command's own failures to start are reported as unsh reports them:
// 127 when it is not found, 126 when it cannot be executed.
func Run(argv []string, stderr *os.File) int {
	// Every signal is ours to pass on; ask for them before the child exists.
	signals := make(chan os.Signal, 64)
	signal.Notify(signals)

	pid, err := start(argv)
	if err != nil {
		// Say it as the stage says it for a command without --init.
		errno := unix.ENOENT
		if !errors.Is(err, exec.ErrNotFound) {
			_ = errors.As(err, &errno)
		}
		fmt.Fprintf(stderr, "unsh: cannot run '%s': %v\n", argv[0], errno)
		if errno == unix.ENOENT || errno == unix.ENOTDIR {
			return 127
		}
		return 126
	}
	for sig := range signals {
		switch sig {
		case unix.SIGCHLD:
			if status, done := reap(pid); done {
				return status
			}
		case unix.SIGURG: // the Go runtime's own preemption signal
		default:
			_ = unix.Kill(pid, sig.(syscall.Signal))
		}
	}
	return 0
}

// start runs the command in a process group of its own, in the terminal's
// foreground when we hold it, so that keyboard signals reach it directly.
func start(argv []string) (int, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return 0, err
	}
	attr := &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{Setpgid: true}}
	if tty, err := os.Open("/dev/tty"); err == nil {
		defer tty.Close()
		if fg, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP); err == nil && fg == unix.Getpgrp() {
			attr.Sys.Foreground, attr.Sys.Ctty = true, int(tty.Fd())
		}
	}
	pid, err := syscall.ForkExec(path, argv, attr)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return pid, nil
}

// reap collects every child that has ended; done is set once the command
// has, with its exit status (128+N for death by signal N: PID 1 cannot be
// killed by it to pass it on).
func reap(command int) (status int, done bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return status, done
		}
		if pid != command {
			continue
		}
		done = true
		status = ws.ExitStatus()
		if ws.Signaled() {
			status = 128 + int(ws.Signal())
		}
	}
}

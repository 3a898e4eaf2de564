package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/unsh/unsh/pkg/nsexec"
)

// forwarded are the signals unsh passes on to the command (spec §4).
var forwarded = []os.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2, unix.SIGALRM}

// execute carries a plan out: the stages, the maps, then waiting for the
// command and passing its exit status on (spec §2).
func execute(p Plan) (int, error) {
	// Listen before the command exists, so that no signal is lost in between.
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, forwarded...)
	defer signal.Stop(signals)

	cfg := nsexec.Config{
		Args: p.Command,
		Env:  os.Environ(),
		UID:  p.UID.Inside,
		GID:  p.GID.Inside,
	}
	proc, err := nsexec.Start(cfg, func(pid int) error { return writeMaps(pid, p) })
	if err != nil {
		return startFailure(err)
	}

	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-signals:
				if !fromTerminal(sig) {
					_ = proc.Signal(sig.(syscall.Signal))
				}
			case <-done:
				return
			}
		}
	}()
	ws, err := proc.Wait()
	close(done)
	if err != nil {
		return exitFailure, fmt.Errorf("waiting for the command: %w", err)
	}
	if ws.Signaled() {
		signal.Stop(signals)
		dieBySignal(ws.Signal())
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// startFailure turns a failed start into unsh's exit status and message.
func startFailure(err error) (int, error) {
	var execErr *nsexec.ExecError
	if errors.As(err, &execErr) {
		status := exitCannotExec
		if execErr.NotFound() {
			status = exitNotFound
		}
		return status, fmt.Errorf("cannot run '%s': %s", execErr.Name, execErr.Errno.Error())
	}
	var stageErr *nsexec.StageError
	if errors.As(err, &stageErr) && stageErr.UserNamespaceRefused() {
		return exitFailure, withHint(err, "user namespaces may be off here: see sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone and kernel.apparmor_restrict_unprivileged_userns")
	}
	return exitFailure, err
}

// fromTerminal guesses whether sig came from the terminal: a keyboard signal
// while unsh's process group, which the command shares, is the terminal's
// foreground. The terminal has then signalled the command already, and
// passing it on would deliver it twice.
func fromTerminal(sig os.Signal) bool {
	if sig != unix.SIGINT && sig != unix.SIGQUIT {
		return false
	}
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return false
	}
	defer tty.Close()
	fg, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && fg == unix.Getpgrp()
}

// dieBySignal ends unsh by sig with its default action and no core file, so
// that unsh's caller sees the command's own wait status. It returns only if
// sig does not kill.
func dieBySignal(sig syscall.Signal) {
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	if sig == unix.SIGKILL { // its action cannot be set, nor is it needed
		_ = unix.Kill(unix.Getpid(), sig)
	}
	// An all-zero kernel sigaction is SIG_DFL, whatever the architecture's layout.
	var dfl [4]uint64
	if _, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0); errno != 0 {
		return
	}
	set := uint64(1) << (uint(sig) - 1)
	_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_UNBLOCK, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0)
	_ = unix.Tgkill(unix.Getpid(), unix.Gettid(), sig)
}

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

	tty := foregroundTerminal()
	if tty != nil {
		defer tty.Close()
	}
	cfg := nsexec.Config{
		Args:        p.Command,
		Env:         os.Environ(),
		UID:         p.UID.Inside,
		GID:         p.GID.Inside,
		Cloneflags:  p.Process.Cloneflags,
		Fork:        p.Process.Fork,
		Propagation: propagationFlag(p.Process.Propagation),
		Hostname:    p.Process.Hostname,
		Root:        p.Process.Root,
		MountProc:   p.Process.MountProc,
		SetUID:      p.Process.SetUID,
		SetGID:      p.Process.SetGID,
		DropGroups:  p.Setgroups == "allow",
		KeepCaps:    p.Process.KeepCaps,
		KillSignal:  p.Process.KillSignal,
		Monotonic:   p.Process.Monotonic,
		Boottime:    p.Process.Boottime,
		Foreground:  tty != nil,
		Init:        p.Process.Init,
	}
	cfg.Dir = p.Process.Wd
	proc, err := nsexec.Start(cfg, func(pid int) error { return writeMaps(pid, p) })
	if err != nil {
		return startFailure(err)
	}

	if tty != nil {
		// The command holds the terminal now; unsh takes it back from the
		// background, which without this would stop unsh with SIGTTOU.
		signal.Ignore(unix.SIGTTOU)
		defer giveTerminal(tty, unix.Getpgrp())
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-signals:
				_ = proc.Signal(sig.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	ws, err := waitForeground(proc, tty)
	close(done)
	if err != nil {
		return exitFailure, fmt.Errorf("waiting for the command: %w", err)
	}
	if ws.Signaled() {
		signal.Stop(signals)
		if tty != nil {
			giveTerminal(tty, unix.Getpgrp())
		}
		dieBySignal(ws.Signal())
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// waitForeground waits for the command to end. With a terminal, it also
// does job control: when the command stops (Ctrl-Z), unsh takes the
// terminal back and stops too, so that the caller's shell sees a stopped
// job; when continued, it hands the terminal back if it is in the
// foreground (fg) and continues the command.
func waitForeground(proc *nsexec.Process, tty *os.File) (syscall.WaitStatus, error) {
	for {
		ws, err := proc.Wait(tty != nil)
		if err != nil || !ws.Stopped() {
			return ws, err
		}
		own := unix.Getpgrp()
		giveTerminal(tty, own)
		_ = unix.Kill(unix.Getpid(), unix.SIGSTOP)
		// Continued.
		if fg, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP); err == nil && fg == own {
			giveTerminal(tty, proc.Pid)
		}
		_ = unix.Kill(-proc.Pid, unix.SIGCONT)
	}
}

// foregroundTerminal opens the controlling terminal when unsh's process
// group is its foreground; the command then takes the foreground itself.
func foregroundTerminal() *os.File {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil
	}
	if fg, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP); err != nil || fg != unix.Getpgrp() {
		tty.Close()
		return nil
	}
	return tty
}

func giveTerminal(tty *os.File, pgrp int) {
	_ = unix.IoctlSetPointerInt(int(tty.Fd()), unix.TIOCSPGRP, pgrp)
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

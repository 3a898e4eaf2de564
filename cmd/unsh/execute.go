package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
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
	// What was ignored when unsh started (nohup, a shell's background job)
	// stays ignored, and the stages and the command inherit it.
	// (Both calls take an empty list to mean every signal: never pass one.)
	ignored := keptIgnored()
	if len(ignored) > 0 {
		signal.Ignore(ignored...)
	}
	// Listen before the command exists, so that no signal is lost in between.
	signals := make(chan os.Signal, 16)
	if listen := slices.DeleteFunc(slices.Clone(forwarded), func(s os.Signal) bool { return slices.Contains(ignored, s) }); len(listen) > 0 {
		signal.Notify(signals, listen...)
	}
	defer signal.Stop(signals)

	tty, _ := os.OpenFile("/dev/tty", os.O_RDWR, 0) // the controlling terminal, if any
	if tty != nil {
		defer tty.Close()
	}
	foreground := inForeground(tty)
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
		Dir:         p.Process.Wd,
		MountProc:   p.Process.MountProc,
		SetUID:      p.Process.SetUID,
		SetGID:      p.Process.SetGID,
		DropGroups:  p.Setgroups == "allow",
		KeepCaps:    p.Process.KeepCaps,
		KillSignal:  p.Process.KillSignal,
		Monotonic:   p.Process.Monotonic,
		Boottime:    p.Process.Boottime,
		Init:        p.Process.Init,
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
				if !fromTerminal(sig, tty) {
					_ = proc.Signal(sig.(syscall.Signal))
				}
			case <-done:
				return
			}
		}
	}()
	// The command shares unsh's process group, so job control needs nothing
	// of unsh: Ctrl-Z stops both, fg continues both, and a pipeline stays one job.
	ws, err := proc.Wait()
	close(done)
	if foreground {
		reclaimTerminal(tty)
	}
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

// keptIgnored lists the signals ignored at unsh's start that the command
// should find ignored too: all but those that unsh itself must see to wait
// (SIGCHLD) and the Go runtime's own (SIGURG, the synchronous faults).
func keptIgnored() []os.Signal {
	var kept []os.Signal
	for _, sig := range nsexec.IgnoredAtStart() {
		switch sig {
		case unix.SIGCHLD, unix.SIGURG, unix.SIGKILL, unix.SIGSTOP, unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE,
			unix.SIGILL, unix.SIGTRAP, unix.SIGSYS, unix.SIGPROF:
			continue
		}
		kept = append(kept, sig)
	}
	return kept
}

// inForeground says whether unsh's process group is the foreground of tty.
func inForeground(tty *os.File) bool {
	if tty == nil {
		return false
	}
	fg, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && fg == unix.Getpgrp()
}

// fromTerminal says whether sig is one the terminal sends to its foreground
// process group, while unsh's group (which the command shares) is that
// foreground: the command got it already, and passing it on would deliver
// it twice. Asked at each signal, as fg and bg move the group.
func fromTerminal(sig os.Signal, tty *os.File) bool {
	return (sig == unix.SIGINT || sig == unix.SIGQUIT) && inForeground(tty)
}

// reclaimTerminal takes the terminal back for unsh's process group, where a
// command made its own group the foreground (an interactive shell that is
// PID 1 of a new pid namespace does) and left it so.
func reclaimTerminal(tty *os.File) {
	if inForeground(tty) {
		return
	}
	signal.Ignore(unix.SIGTTOU) // asking from the background would stop unsh
	_ = unix.IoctlSetPointerInt(int(tty.Fd()), unix.TIOCSPGRP, unix.Getpgrp())
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
	if errors.As(err, &stageErr) {
		switch {
		case stageErr.UserNamespaceRefused():
			return exitFailure, withHint(err, "user namespaces may be off here: see sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone and kernel.apparmor_restrict_unprivileged_userns")
		case stageErr.MountProcRefused():
			return exitFailure, withHint(err, "a proc can be mounted only for a pid namespace of the new user namespace: add -p (--pid)")
		}
	}
	return exitFailure, err
}

// dieBySignal ends unsh by sig with its default action and no core file, so
// that unsh's caller sees the command's own wait status. It returns only if
// sig does not kill.
func dieBySignal(sig syscall.Signal) {
	// RLIMIT_CORE does not stop a core_pattern pipe (systemd-coredump); non-dumpable does.
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
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

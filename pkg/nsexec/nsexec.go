package nsexec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Config is what the stages need to know.
type Config struct {
	// Args is the command; the stage looks argv[0] up in PATH.
	Args []string
	// Env is the command's environment; the stage's variable is added here
	// and removed by the stage before anything else.
	Env []string
	// Cloneflags are the namespaces to unshare after the user namespace.
	Cloneflags uintptr
	// Fork makes the command a second stage, forked after the unshares
	// (needed for a new pid namespace).
	Fork bool
	// UID and GID, when set, are taken with setresuid/setresgid once mapped.
	UID, GID *uint32

	// Propagation is applied recursively to "/" of a new mount namespace:
	// unix.MS_PRIVATE, MS_SHARED or MS_SLAVE; 0 leaves it.
	Propagation uintptr
	Hostname    string // for a new UTS namespace
	Root        string // chroot here
	Dir         string // then chdir here
	MountProc   string // mount a fresh proc here (after Root)
	// SetUID and SetGID, when set, are the ids the command ends as
	// (-S, -G); DropGroups clears the supplementary groups with SetGID.
	SetUID, SetGID *uint32
	DropGroups     bool
	KeepCaps       bool           // capabilities survive exec, as ambient ones
	KillSignal     syscall.Signal // the command's parent-death signal; 0 for none
	// Monotonic and Boottime are the offsets of a new time namespace, in seconds.
	Monotonic, Boottime int64
	// Init keeps the last stage as PID 1, an init that runs the command as
	// its child (needs a new pid namespace).
	Init bool
}

// MapFunc writes the maps of the process pid, which has just unshared its
// user namespace and waits. An error stops the start.
type MapFunc func(pid int) error

// A Process is the command, started: a child of the caller of Start.
// Children are waited for with wait4, not os.Process, which would probe for
// pidfd support with an extra fork on every run.
type Process struct {
	Pid int
}

// Wait waits for the command to end.
func (p *Process) Wait() (syscall.WaitStatus, error) { return waitPid(p.Pid) }

// Signal sends sig to the command.
func (p *Process) Signal(sig syscall.Signal) error { return unix.Kill(p.Pid, sig) }

func waitPid(pid int) (syscall.WaitStatus, error) {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			return ws, err
		}
	}
}

// StageError is a failed step of a stage, as stage.c reported it.
type StageError struct {
	Stage  int
	Step   string // the step and what it worked on: "chroot /srv"
	Errno  syscall.Errno
	step   int32
	detail error
}

func (e *StageError) Error() string {
	why := e.Errno.Error()
	if e.detail != nil {
		why = e.detail.Error()
	}
	return fmt.Sprintf("stage %d: %s: %s", e.Stage, e.Step, why)
}

func (e *StageError) Unwrap() error { return e.Errno }

// UserNamespaceRefused says whether the kernel refused the new user namespace.
func (e *StageError) UserNamespaceRefused() bool { return e.step == stepUnshareUser }

// MountProcRefused says whether mounting proc (--mount-proc) was refused.
func (e *StageError) MountProcRefused() bool { return e.step == stepMountProc && e.Errno == unix.EPERM }

// ExecError is a command that could not be executed.
type ExecError struct {
	Name  string
	Errno syscall.Errno
}

func (e *ExecError) Error() string { return fmt.Sprintf("%s: %s", e.Name, e.Errno.Error()) }

// NotFound says whether the command does not exist (exit 127, not 126).
func (e *ExecError) NotFound() bool { return e.Errno == unix.ENOENT || e.Errno == unix.ENOTDIR }

// Start runs the stages and returns once the command has been executed, or
// the error that stopped it; then no stage is left running.
func Start(cfg Config, mapIDs MapFunc) (*Process, error) {
	if len(cfg.Args) == 0 {
		return nil, errors.New("no command")
	}
	sock, childFD, err := socketPair()
	if err != nil {
		return nil, err
	}
	defer sock.Close()

	stage1, err := spawn(cfg.Env, childFD)
	unix.Close(childFD)
	if err != nil {
		return nil, err
	}
	st := &starter{sock: sock, stages: []int{stage1}}
	proc, err := st.run(cfg, mapIDs, stage1)
	if err != nil {
		st.abort()
		return nil, err
	}
	return proc, nil
}

// socketPair makes the bootstrap socket; the child's end is numbered 3 or
// above so that it cannot take the place of a standard descriptor.
func socketPair() (*os.File, int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, -1, fmt.Errorf("socketpair: %w", err)
	}
	child := fds[1]
	if child < 3 {
		moved, err := unix.FcntlInt(uintptr(child), unix.F_DUPFD_CLOEXEC, 3)
		unix.Close(child)
		if err != nil {
			unix.Close(fds[0])
			return nil, -1, fmt.Errorf("moving the bootstrap socket: %w", err)
		}
		child = moved
	}
	return os.NewFile(uintptr(fds[0]), "unsh-bootstrap"), child, nil
}

// spawn re-executes unsh as stage 1. Every descriptor that unsh inherited
// without close-on-exec is passed at its own number, and so is the stage's
// socket; unsh's own descriptors are close-on-exec and stay behind.
func spawn(env []string, childFD int) (int, error) {
	files := make([]uintptr, childFD+1)
	for fd := range files {
		files[fd] = ^uintptr(0) // closed in the child
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			files[fd] = uintptr(fd)
		}
	}
	files[childFD] = uintptr(childFD)
	env = append(env[:len(env):len(env)], stageEnv+"="+strconv.Itoa(childFD))

	// The stages' parent-death signal follows this thread: keep it ours
	// while forking, so that no other goroutine's exit can end it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid, err := syscall.ForkExec("/proc/self/exe", []string{"unsh"}, &syscall.ProcAttr{Env: env, Files: files})
	if err != nil {
		return 0, fmt.Errorf("starting the namespace stage (/proc/self/exe): %w", err)
	}
	return pid, nil
}

type starter struct {
	sock   *os.File
	stages []int // pids started and not yet reaped
}

func (st *starter) run(cfg Config, mapIDs MapFunc, stage1 int) (*Process, error) {
	if _, err := st.sock.Write(encodeBootstrap(cfg, os.Getpid())); err != nil {
		return nil, fmt.Errorf("sending the bootstrap data: %w", err)
	}
	command := stage1
	execing := false
	for {
		m, err := st.read()
		if errors.Is(err, io.EOF) {
			if !execing {
				return nil, st.diedEarly()
			}
			break // the exec closed the socket: the command runs
		}
		if err != nil {
			return nil, err
		}
		switch m.Type {
		case msgMapRequest:
			// Stage 1 asks, before any fork: trust the pid we started, not the message.
			if err := mapIDs(stage1); err != nil {
				return nil, err
			}
			if err := st.write(message{Type: msgMapAck}); err != nil {
				return nil, fmt.Errorf("telling the stage its maps are written: %w", err)
			}
		case msgChildPID:
			command = int(m.Detail)
			st.stages = append(st.stages, command)
		case msgExec:
			execing = true
		case msgError:
			return nil, st.stageError(cfg, m)
		default:
			return nil, fmt.Errorf("unexpected message %d from stage %d", m.Type, m.Stage)
		}
	}
	// Stage 1 exits by itself once it has forked stage 2.
	if command != stage1 {
		if _, err := waitPid(stage1); err != nil {
			return nil, fmt.Errorf("waiting for stage 1: %w", err)
		}
	}
	return &Process{Pid: command}, nil
}

func (st *starter) read() (message, error) {
	var buf [msgSize]byte
	if _, err := io.ReadFull(st.sock, buf[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return message{}, errors.New("a stage sent a truncated message")
		}
		return message{}, err
	}
	return *(*message)(unsafe.Pointer(&buf[0])), nil
}

func (st *starter) write(m message) error {
	buf := (*[msgSize]byte)(unsafe.Pointer(&m))
	_, err := st.sock.Write(buf[:])
	return err
}

func (st *starter) stageError(cfg Config, m message) error {
	if m.Step == stepExec {
		return &ExecError{Name: cfg.Args[0], Errno: syscall.Errno(m.Errno)}
	}
	e := &StageError{Stage: int(m.Stage), Step: stepNames[m.Step], Errno: syscall.Errno(m.Errno), step: m.Step}
	if e.Step == "" {
		e.Step = fmt.Sprintf("step %d", m.Step)
	}
	// Name the input the step worked on.
	if arg := map[int32]string{stepChroot: cfg.Root, stepChdir: cfg.Dir, stepMountProc: cfg.MountProc, stepHostname: cfg.Hostname}[m.Step]; arg != "" {
		e.Step += " " + arg
	}
	if m.Detail != 0 && m.Step == stepParseBootstrap {
		e.detail = parseError(m.Detail)
	}
	return e
}

// diedEarly describes the last stage, which closed the socket without exec.
func (st *starter) diedEarly() error {
	n := len(st.stages)
	ws, err := waitPid(st.stages[n-1])
	st.stages = st.stages[:n-1]
	switch {
	case err != nil:
		return fmt.Errorf("stage %d ended before the command started: %w", n, err)
	case ws.Signaled():
		return fmt.Errorf("stage %d was killed by %v before the command started", n, ws.Signal())
	}
	return fmt.Errorf("stage %d ended with status %d before the command started", n, ws.ExitStatus())
}

// abort kills and reaps every stage still there.
func (st *starter) abort() {
	for _, pid := range st.stages {
		_ = unix.Kill(pid, unix.SIGKILL)
		_, _ = waitPid(pid)
	}
	st.stages = nil
}

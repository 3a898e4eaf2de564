// Package newuidmap finds and runs the setuid helpers newuidmap and
// newgidmap of shadow-utils, which write a uid or gid map that an
// unprivileged process may not write itself. It knows nothing of where the
// maps come from.
package newuidmap

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/unsh/unsh/pkg/idmap"
)

// packages names what provides the helpers, for hints.
const packages = "the uidmap package (Debian, Ubuntu), shadow-utils (Fedora, RHEL) or shadow (Arch, Alpine)"

// NotFoundError is a helper missing from PATH.
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s not found in PATH", e.Name)
}

// Hint says how to get the helper.
func (e *NotFoundError) Hint() string { return "install " + packages }

// UnprivilegedError is a helper that cannot do its job: it is neither setuid
// root nor holds a file capability.
type UnprivilegedError struct{ Path string }

func (e *UnprivilegedError) Error() string {
	return fmt.Sprintf("%s is neither setuid root nor holds the file capability it needs", e.Path)
}

// Hint says how to give the helper its privilege back.
func (e *UnprivilegedError) Hint() string {
	return fmt.Sprintf("sudo chmod u+s %s (or sudo setcap cap_setuid,cap_setgid+ep %s), or reinstall %s", e.Path, e.Path, packages)
}

// Find looks name up in PATH, as util-linux does, and checks that it can
// work. It returns an absolute path: a helper found through a relative PATH
// entry (exec.ErrDot) counts as not found, since the working directory can
// change under unsh.
func Find(name string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil || !filepath.IsAbs(path) {
		return "", &NotFoundError{Name: name}
	}
	if !privileged(path) {
		return "", &UnprivilegedError{Path: path}
	}
	return path, nil
}

// privileged says whether path is setuid root or carries a file capability.
func privileged(path string) bool {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return false
	}
	if st.Mode&unix.S_ISUID != 0 && st.Uid == 0 {
		return true
	}
	size, err := unix.Getxattr(path, "security.capability", nil)
	return err == nil && size > 0
}

// Error is a helper that failed: its argv, how it ended, and what it said.
type Error struct {
	Argv   []string
	Status string
	Stderr string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s failed (%s)", strings.Join(e.Argv, " "), e.Status)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += "\n" + s
	}
	return msg
}

// Command is the helper's argv for the process pid (a number, or "PID" in a
// plan) and map m.
func Command(path, pid string, m idmap.Map) []string {
	return append([]string{path, pid}, m.Args()...)
}

// Start starts the helper for pid with an empty environment; Wait on the
// result gives its verdict.
func Start(path, pid string, m idmap.Map) (*Run, error) {
	argv := Command(path, pid, m)
	cmd := &exec.Cmd{Path: path, Args: argv, Env: []string{}}
	r := &Run{cmd: cmd}
	cmd.Stderr = &r.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// A Run is a helper under way.
type Run struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
}

// Wait waits for the helper; a non-zero exit or a signal is an *Error.
func (r *Run) Wait() error {
	err := r.cmd.Wait()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return &Error{Argv: r.cmd.Args, Status: exitErr.ProcessState.String(), Stderr: r.stderr.String()}
	}
	return err
}

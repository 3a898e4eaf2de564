// Command unsh runs a command as root of a new user namespace whose uid and gid
// maps hold the caller's own ids and all of their subordinate ranges.
//
// It turns its arguments into a Plan (plan.go) by pure functions, then either
// prints the plan (--dry-run) or carries it out.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
)

// version is set by the Makefile from git.
var version = "dev"

// Exit statuses of unsh's own failures, as env(1), nice(1) and chroot(1) use them.
const (
	exitFailure    = 125
	exitCannotExec = 126
	exitNotFound   = 127
)

// How unsh's own lines on stderr begin.
const (
	warningPrefix   = "unsh: warning: "
	errorLinePrefix = "unsh: "
)

// hinted is an error with a known fix, printed as a second line "hint: ...".
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Hint() string  { return h.hint }
func (h hinted) Unwrap() error { return h.err }

func withHint(err error, format string, args ...any) error {
	return hinted{err: err, hint: fmt.Sprintf(format, args...)}
}

func main() {
	// unsh computes a plan and then waits: one P spares the scheduler's
	// spinning threads, a third of a short run's CPU time.
	runtime.GOMAXPROCS(1)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is unsh from its arguments to its exit status.
func run(args []string, stdout, stderr io.Writer) int {
	status, err := dispatch(args, stdout, stderr)
	if err != nil {
		report(stderr, err)
		if status == 0 {
			status = exitFailure
		}
	}
	return status
}

// report prints a failure once: "unsh: what: why", then a hint where one is known.
func report(stderr io.Writer, err error) {
	fmt.Fprintf(stderr, "%s%v\n", errorLinePrefix, err)
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		fmt.Fprintf(stderr, "hint: %s\n", h.Hint())
	}
}

func dispatch(args []string, stdout, stderr io.Writer) (int, error) {
	sub := "run"
	if len(args) > 0 {
		switch args[0] {
		case "run", "enter", "doctor", "help", "version", "completion":
			sub, args = args[0], args[1:]
		}
	}
	switch sub {
	case "run":
		return runCommand(args, stdout, stderr)
	case "help":
		if len(args) > 0 && args[0] != "run" {
			return 0, withHint(fmt.Errorf("no help for %q: it is not available in this version", args[0]), "see 'unsh --help'")
		}
		return runCommand([]string{"--help"}, stdout, stderr)
	case "version":
		return runCommand([]string{"--version"}, stdout, stderr)
	}
	return 0, fmt.Errorf("'unsh %s' is not available in this version", sub)
}

func runCommand(args []string, stdout, stderr io.Writer) (int, error) {
	opts, err := parseOptions(args)
	if err != nil {
		return 0, err
	}
	switch {
	case opts.help:
		fmt.Fprint(stdout, usage())
		return 0, nil
	case opts.version:
		fmt.Fprintf(stdout, "unsh %s\n", version)
		return 0, nil
	}
	h, err := probeHost()
	if err != nil {
		return 0, err
	}
	plan, err := newPlan(opts, h)
	for _, w := range plan.Warnings {
		fmt.Fprintf(stderr, "%s%s\n", warningPrefix, w)
	}
	if err != nil {
		return 0, err
	}
	if opts.dryRun {
		return 0, printPlan(stdout, plan, opts.json)
	}
	return execute(plan)
}

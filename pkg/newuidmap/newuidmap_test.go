package newuidmap

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/unsh/unsh/pkg/idmap"
)

// helperIn writes an executable script name into a fresh directory put first in PATH.
func helperIn(t *testing.T, name, body string, mode os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	return path
}

func TestFind(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var notFound *NotFoundError
	if _, err := Find("newuidmap"); !errors.As(err, &notFound) || err.Error() != "newuidmap not found in PATH" {
		t.Errorf("missing helper: %v", err)
	}

	path := helperIn(t, "newuidmap", "exit 0", 0o755)
	var unprivileged *UnprivilegedError
	if _, err := Find("newuidmap"); !errors.As(err, &unprivileged) || unprivileged.Path != path {
		t.Errorf("plain helper: %v", err)
	}

	if os.Geteuid() != 0 {
		t.Skip("a setuid-root helper can only be made by root")
	}
	path = helperIn(t, "newuidmap", "exit 0", os.ModeSetuid|0o755)
	if got, err := Find("newuidmap"); err != nil || got != path {
		t.Errorf("setuid-root helper: %q, %v", got, err)
	}
}

func TestRun(t *testing.T) {
	m := idmap.Map{idmap.Single(0, 1001, "caller"), {Range: idmap.Range{Inner: 1, Outer: 100000, Count: 65536}}}
	if got := Command("/usr/bin/newuidmap", "42", m); len(got) != 8 || got[1] != "42" || got[7] != "65536" {
		t.Errorf("argv %q", got)
	}
	path := helperIn(t, "newuidmap", `[ -z "${UNSH_TEST_MARK-}" ] || { echo "environment not empty" >&2; exit 3; }; echo "newuidmap: range not allowed" >&2; exit 1`, 0o755)
	t.Setenv("UNSH_TEST_MARK", "must not reach the helper")
	run, err := Start(path, "42", m)
	if err != nil {
		t.Fatal(err)
	}
	err = run.Wait()
	var helperErr *Error
	want := path + " 42 0 1001 1 1 100000 65536 failed (exit status 1)\nnewuidmap: range not allowed"
	if !errors.As(err, &helperErr) || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

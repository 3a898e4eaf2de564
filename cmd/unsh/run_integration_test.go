package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fields normalises /proc/PID/uid_map text: one "inner outer count" per line.
func fields(text string) string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		out = append(out, strings.Join(strings.Fields(line), " "))
	}
	return strings.Join(out, "\n")
}

const showIDs = "id -u; id -g; cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; cat /proc/self/setgroups"

// TestRunMaps: the command runs inside with the maps and setgroups of spec §3.5.
func TestRunMaps(t *testing.T) {
	needIntegration(t)
	u, g := testUID, testGID
	two := "unshtest:100000:65536\nunshtest:300000:1000\n"
	tests := []struct {
		name           string
		subuid, subgid string
		args           []string
		want           string
	}{
		{"--map-auto", subids, subids, []string{"--map-auto"},
			fmt.Sprintf("0\n0\n0 %d 1\n1 100000 65536\n--\n0 %d 1\n1 100000 65536\n--\nallow", u, g)},
		{"--map-auto with two ranges", two, two, []string{"--map-auto"},
			fmt.Sprintf("0\n0\n0 %d 1\n1 100000 65536\n65537 300000 1000\n--\n0 %d 1\n1 100000 65536\n65537 300000 1000\n--\nallow", u, g)},
		{"-r", subids, subids, []string{"-r"},
			fmt.Sprintf("0\n0\n0 %d 1\n--\n0 %d 1\n--\ndeny", u, g)},
		{"-r --setgroups=deny", subids, subids, []string{"-r", "--setgroups=deny"},
			fmt.Sprintf("0\n0\n0 %d 1\n--\n0 %d 1\n--\ndeny", u, g)},
		{"--map-auto --setgroups=deny", subids, subids, []string{"--map-auto", "--setgroups=deny"},
			fmt.Sprintf("0\n0\n0 %d 1\n1 100000 65536\n--\n0 %d 1\n1 100000 65536\n--\ndeny", u, g)},
		{"keep-id with -c", subids, subids, []string{"--map-auto", "-c"},
			fmt.Sprintf("%d\n%d\n0 100000 %d\n%d %d 1\n%d %d %d\n--\n0 100000 %d\n%d %d 1\n%d %d %d\n--\nallow",
				u, g, u, u, u, u+1, 100000+u, 65536-u, g, g, g, g+1, 100000+g, 65536-g)},
		{"the default", subids, subids, nil,
			fmt.Sprintf("0\n0\n0 %d 1\n1 100000 65536\n--\n0 %d 1\n1 100000 65536\n--\nallow", u, g)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, tc.args...), "--", "sh", "-c", showIDs)
			r := sandbox{subuid: tc.subuid, subgid: tc.subgid}.run(t, args...)
			if r.code != 0 || fields(r.stdout) != tc.want || r.stderr != "" {
				t.Errorf("got:\n%s\nwant stdout:\n%s", r, tc.want)
			}
		})
	}
}

// TestRunSetgroupsAllowSelfOnly: newgidmap denies setgroups for a map of
// only the caller's gid, so -r --setgroups=allow cannot be had unprivileged;
// unsh says so instead of running with "deny".
func TestRunSetgroupsAllowSelfOnly(t *testing.T) {
	needIntegration(t)
	r := sandbox{subuid: subids, subgid: subids}.run(t, "-r", "--setgroups=allow", "--", "echo", "ran")
	if r.code != 125 || r.stdout != "" ||
		!strings.HasPrefix(r.stderr, "unsh: --setgroups=allow: newgidmap set /proc/") ||
		!strings.Contains(r.stderr, "/setgroups to \"deny\", as it does for a gid map of only your own gid\nhint: ") {
		t.Errorf("got:\n%s", r)
	}
	r = sandbox{subuid: subids, subgid: subids}.run(t, "--map-auto", "--setgroups=allow", "--", "cat", "/proc/self/setgroups")
	if r.code != 0 || r.stdout != "allow\n" {
		t.Errorf("--map-auto --setgroups=allow, got:\n%s", r)
	}
}

// TestRunAsRootWritesMapsItself: root holds CAP_SETUID, so no helper runs,
// and root, unmapped itself, takes inner uid 0.
func TestRunAsRootWritesMapsItself(t *testing.T) {
	needIntegration(t)
	dir, log := recordingHelpers(t, "")
	sb := sandbox{subuid: subids, subgid: subids, asRoot: true, env: []string{"PATH=" + dir + ":" + testPath}}
	r := sb.run(t, "--map-users=0:100000:65536", "--map-groups=0:100000:65536", "--", "sh", "-c", "id -u; cat /proc/self/uid_map")
	if r.code != 0 || fields(r.stdout) != "0\n0 100000 65536" {
		t.Errorf("got:\n%s", r)
	}
	if data, _ := os.ReadFile(log); len(data) != 0 {
		t.Errorf("a helper ran as root:\n%s", data)
	}
}

// recordingHelpers makes newuidmap and newgidmap stand-ins first in PATH:
// each logs its argv, then runs body (by default the real helper). They are
// setuid root, which the kernel ignores for scripts but unsh checks for.
func recordingHelpers(t *testing.T, body string) (dir, log string) {
	t.Helper()
	dir = sharedDir(t, "unsh-helpers-", 0o777)
	log = filepath.Join(dir, "log")
	if err := os.WriteFile(log, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(log, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"newuidmap", "newgidmap"} {
		real, err := exec.LookPath(name)
		if err != nil {
			t.Fatal(err)
		}
		run := body
		if run == "" {
			run = fmt.Sprintf(`exec %s "$@"`, real)
		}
		script := fmt.Sprintf("#!/bin/sh\necho \"%s $*\" >> %s\n%s\n", name, log, run)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, os.ModeSetuid|0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir, log
}

func TestRunHelpers(t *testing.T) {
	needIntegration(t)
	dir, log := recordingHelpers(t, "")
	sb := sandbox{subuid: subids, subgid: subids, env: []string{"PATH=" + dir + ":" + testPath}}

	r := sb.run(t, "--dry-run", "--map-auto")
	if !strings.Contains(r.stdout, "written by "+dir+"/newuidmap PID 0 ") || !strings.Contains(r.stdout, "written by "+dir+"/newgidmap PID 0 ") {
		t.Errorf("--dry-run does not show the helpers found in PATH:\n%s", r)
	}
	r = sb.run(t, "--map-auto", "--", "true")
	data, _ := os.ReadFile(log)
	got := strings.Split(strings.TrimSpace(string(data)), "\n")
	if r.code != 0 || len(got) != 2 {
		t.Fatalf("got:\n%s\nhelper log:\n%s", r, data)
	}
	for _, line := range got {
		f := strings.Fields(line)
		want := fmt.Sprintf("0 %d 1 1 100000 65536", testUID)
		if f[0] == "newgidmap" {
			want = fmt.Sprintf("0 %d 1 1 100000 65536", testGID)
		}
		if len(f) < 3 || strings.Join(f[2:], " ") != want {
			t.Errorf("helper argv %q, want PID %s", line, want)
		}
	}
}

// TestRunHelperFails: a failing helper gives exit 125 with its message under
// unsh's line, and leaves no process of unsh's behind.
func TestRunHelperFails(t *testing.T) {
	needIntegration(t)
	dir, _ := recordingHelpers(t, `echo "newuidmap: uid range [1-65537) -> [100000-165536) not allowed" >&2; exit 1`)
	sb := sandbox{subuid: subids, subgid: subids, env: []string{"PATH=" + dir + ":" + testPath}}
	before := processesOf(testUID)
	r := sb.run(t, "--map-auto", "--", "sh", "-c", "echo should not run")
	if r.code != 125 || r.stdout != "" ||
		!strings.HasPrefix(r.stderr, "unsh: "+dir+"/newuidmap ") ||
		!strings.Contains(r.stderr, "failed (exit status 1)\nnewuidmap: uid range [1-65537) -> [100000-165536) not allowed\n") ||
		!strings.Contains(r.stderr, "\nhint: ") {
		t.Errorf("got:\n%s", r)
	}
	for pid, stat := range processesOf(testUID) {
		if _, old := before[pid]; !old {
			t.Errorf("a process of the test user was left behind: %s", stat)
		}
	}
}

// TestRunHelperNotPrivileged: a helper that is not setuid root is refused
// before any namespace exists.
func TestRunHelperNotPrivileged(t *testing.T) {
	needIntegration(t)
	dir, log := recordingHelpers(t, "")
	if err := os.Chmod(filepath.Join(dir, "newuidmap"), 0o755); err != nil {
		t.Fatal(err)
	}
	sb := sandbox{subuid: subids, subgid: subids, env: []string{"PATH=" + dir + ":" + testPath}}
	r := sb.run(t, "--map-auto", "--", "true")
	want := "unsh: cannot write the uid map: " + dir + "/newuidmap is neither setuid root nor holds the file capability it needs\nhint: sudo chmod u+s "
	if r.code != 125 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("got:\n%s\nwant stderr starting:\n%s", r, want)
	}
	if data, _ := os.ReadFile(log); len(data) != 0 {
		t.Errorf("a helper ran:\n%s", data)
	}
}

// processesOf gives the /proc/PID/stat of every live process (zombies are
// not, and this machine's init may be slow to reap them) whose real uid is uid.
func processesOf(uid int) map[string]string {
	pids := map[string]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		status, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" && f[1] == fmt.Sprint(uid) {
				stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
				if !strings.Contains(string(stat), ") Z ") {
					pids[e.Name()] = strings.TrimSpace(string(stat))
				}
			}
		}
	}
	return pids
}

// TestRunExitStatus: spec §2.
func TestRunExitStatus(t *testing.T) {
	needIntegration(t)
	tests := []struct {
		name   string
		argv   []string
		code   int
		signal syscall.Signal
		stderr string
	}{
		{"exit 42", []string{"sh", "-c", "exit 42"}, 42, 0, ""},
		{"false", []string{"false"}, 1, 0, ""},
		{"not found", []string{"/nonexistent"}, 127, 0, "unsh: cannot run '/nonexistent': no such file or directory\n"},
		{"not in PATH", []string{"no-such-command-here"}, 127, 0, "unsh: cannot run 'no-such-command-here': no such file or directory\n"},
		{"not executable", []string{"/usr"}, 126, 0, "unsh: cannot run '/usr': permission denied\n"},
		{"killed by SIGUSR1", []string{"sh", "-c", "kill -USR1 $$"}, -1, syscall.SIGUSR1, ""},
		{"killed by SIGKILL", []string{"sh", "-c", "kill -KILL $$"}, -1, syscall.SIGKILL, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sandbox{subuid: subids, subgid: subids}.run(t, append([]string{"-r", "--"}, tc.argv...)...)
			if r.code != tc.code || r.signal != tc.signal || r.stderr != tc.stderr {
				t.Errorf("got:\n%s\nwant exit %d signal %d stderr %q", r, tc.code, tc.signal, tc.stderr)
			}
		})
	}
}

// TestRunForwardsSignals: kill -TERM sent to unsh reaches the command.
func TestRunForwardsSignals(t *testing.T) {
	needIntegration(t)
	out, code := signalled(t, []string{"--map-auto", "--", "sh", "-c", trapTerm})
	if code != 7 || out != "got TERM" {
		t.Errorf("exit %d, output after ready %q; want exit 7 and \"got TERM\"", code, out)
	}
}

// trapTerm says "ready", then on SIGTERM "got TERM" and exits 7.
const trapTerm = `trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done`

// startReading starts unsh with args in the sandbox and returns it with its
// stdout, once the first line has come.
func startReading(t *testing.T, args []string) (*exec.Cmd, *bufio.Scanner, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	cmd := sandbox{subuid: subids, subgid: subids}.command(t, ctx, append([]string{unshBin}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("unsh %q printed nothing", args)
	}
	return cmd, lines, lines.Text()
}

// signalled starts unsh with args, waits for "ready", sends unsh SIGTERM
// and returns what the command printed after that and unsh's exit code.
// The process started is unsh itself: every step of the sandbox execs the next.
func signalled(t *testing.T, args []string) (string, int) {
	t.Helper()
	cmd, lines, first := startReading(t, args)
	if first != "ready" {
		t.Fatalf("no ready line: %q", first)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	_ = cmd.Wait()
	return strings.Join(rest, "\n"), cmd.ProcessState.ExitCode()
}

// TestRunInheritance: the command gets exactly the descriptors and the
// environment that unsh got, checked against the same command run without unsh.
func TestRunInheritance(t *testing.T) {
	needIntegration(t)
	sb := sandbox{subuid: subids, subgid: subids, env: []string{"SOME_VAR=some value"}}
	probe := "ls /proc/self/fd; env | sort"
	direct := sb.runWithFiles(t, []string{"/bin/sh", "-c", probe})
	for _, args := range [][]string{{"--map-auto"}, {"--map-auto", "-p"}, {"--map-auto", "--init"}} {
		viaUnsh := sb.runWithFiles(t, append(append([]string{unshBin}, args...), "--", "/bin/sh", "-c", probe))
		if direct != viaUnsh {
			t.Errorf("%q: without unsh:\n%s\nwith unsh:\n%s", args, direct, viaUnsh)
		}
		if strings.Contains(viaUnsh, "_UNSH") || !strings.Contains(viaUnsh, "SOME_VAR=some value") {
			t.Errorf("%q: environment:\n%s", args, viaUnsh)
		}
	}
}

// runWithFiles runs argv in the sandbox with two extra descriptors, 3 and 5
// (4 closed), and returns its stdout.
func (sb sandbox) runWithFiles(t *testing.T, argv []string) string {
	t.Helper()
	f3, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f3.Close()
	f5, err := os.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer f5.Close()
	cmd := sb.command(t, context.Background(), argv...)
	cmd.ExtraFiles = []*os.File{f3, nil, f5}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%q: %v", argv, err)
	}
	return string(out)
}

// TestIgnoredSignalsInherited: what was ignored when unsh started stays
// ignored for the command (nohup), with and without a pid namespace and init.
func TestIgnoredSignalsInherited(t *testing.T) {
	needIntegration(t)
	sb := sandbox{subuid: subids, subgid: subids}
	run := func(argv ...string) string {
		script := `trap "" HUP INT TERM USR1 PIPE; exec "$@"`
		r := sb.runArgv(t, append([]string{"/bin/sh", "-c", script, "sh"}, argv...)...)
		if r.code != 0 {
			t.Fatalf("%q: got:\n%s", argv, r)
		}
		return r.stdout
	}
	want := run("grep", "SigIgn", "/proc/self/status")
	for _, args := range [][]string{{"-r"}, {"-r", "-p"}, {"-r", "--init"}} {
		if got := run(append(append([]string{unshBin}, args...), "--", "grep", "SigIgn", "/proc/self/status")...); got != want {
			t.Errorf("%q: the command ignores %q, want %q", args, got, want)
		}
	}
}

// setuidCopy installs a copy of unsh setuid root, as by mistake.
func setuidCopy(t *testing.T) string {
	t.Helper()
	dir := sharedDir(t, "unsh-setuid-", 0o755)
	data, err := os.ReadFile(unshBin)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "unsh")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bin, os.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestRefusesSetuid: installed setuid root by mistake, unsh refuses to run.
func TestRefusesSetuid(t *testing.T) {
	needIntegration(t)
	bin := setuidCopy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := sandbox{subuid: subids, subgid: subids}.command(t, ctx, bin, "-r", "--", "echo", "ran")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, _ := cmd.Output()
	want := fmt.Sprintf("unsh: real and effective ids differ (uid %d/0, gid %d/%d): unsh must not be setuid or setgid\nhint: chmod u-s,g-s %s\n", testUID, testGID, testGID, bin)
	if cmd.ProcessState.ExitCode() != 125 || len(out) != 0 || stderr.String() != want {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 125 and:\n%s", cmd.ProcessState.ExitCode(), out, stderr.String(), want)
	}
}

// TestStageRefusesSetuid: nor can a caller drive the stage of a setuid unsh
// (which would run a command with root's credentials) through the private
// variable and a socket of its own.
func TestStageRefusesSetuid(t *testing.T) {
	needIntegration(t)
	bin := setuidCopy(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "ours"), os.NewFile(uintptr(fds[1]), "theirs")
	defer ours.Close()
	defer theirs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := sandbox{subuid: subids, subgid: subids, env: []string{"_UNSH_STAGE=3"}}.command(t, ctx, bin)
	cmd.ExtraFiles = []*os.File{theirs}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	_ = cmd.Run()
	want := "unsh: refusing to run as a stage with real and effective ids that differ\n"
	if cmd.ProcessState.ExitCode() != 125 || stderr.String() != want {
		t.Errorf("exit %d, stderr %q; want exit 125 and %q", cmd.ProcessState.ExitCode(), stderr.String(), want)
	}
}

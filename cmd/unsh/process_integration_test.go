package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestNamespaceFlags: each namespace option gives a namespace of its own,
// owned by the new user namespace (lsns's ONS column is NS_GET_USERNS).
func TestNamespaceFlags(t *testing.T) {
	needIntegration(t)
	hostUser, err := os.Readlink("/proc/self/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ flag, kind string }{
		{"-m", "mnt"}, {"-u", "uts"}, {"-i", "ipc"}, {"-n", "net"}, {"-C", "cgroup"}, {"-T", "time"}, {"-p", "pid"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			args := []string{"-r", tc.flag}
			if tc.kind == "pid" {
				args = append(args, "--mount-proc") // lsns reads /proc by our pid
			}
			script := `readlink /proc/self/ns/user; lsns -n -p $$ -t ` + tc.kind + ` -o NS,ONS`
			r := sandbox{subuid: subids, subgid: subids}.run(t, append(args, "--", "sh", "-c", script)...)
			f := strings.Fields(r.stdout)
			if r.code != 0 || len(f) != 3 {
				t.Fatalf("got:\n%s", r)
			}
			innerUser := strings.TrimSuffix(strings.TrimPrefix(f[0], "user:["), "]")
			if f[0] == hostUser || f[2] != innerUser {
				t.Errorf("%s namespace %s is owned by user namespace %s; want the new one %s (host's is %s)", tc.kind, f[1], f[2], innerUser, hostUser)
			}
		})
	}
}

// TestMountProc: the command is PID 1 and sees only its own processes in the
// new /proc, while its caller's mounts and /proc are as they were, even
// with / shared in the caller's namespace.
func TestMountProc(t *testing.T) {
	needIntegration(t)
	// Run by the test user, around unsh: its own view before and after.
	script := `before=$(cat /proc/self/mountinfo)
"$@"
[ "$(cat /proc/self/mountinfo)" = "$before" ] && echo mounts unchanged
ls /proc | grep -c "^[0-9]"`
	inner := `echo $$; ls /proc | grep -c "^[0-9]"`
	r := sandbox{subuid: subids, subgid: subids, sharedRoot: true}.runArgv(t,
		"/bin/sh", "-c", script, "sh", unshBin, "-p", "--mount-proc", "--", "sh", "-c", inner)
	f := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(f) != 4 || f[0] != "1" || f[2] != "mounts unchanged" {
		t.Fatalf("got:\n%s\nwant PID 1, a count, \"mounts unchanged\" and the caller's count", r)
	}
	if n, _ := strconv.Atoi(f[1]); n < 1 || n > 3 {
		t.Errorf("%s processes visible in the new /proc; want sh, ls and grep at most", f[1])
	}
	if n, _ := strconv.Atoi(f[3]); n <= 3 {
		t.Errorf("the caller sees %s processes in its /proc afterwards; want the machine's", f[3])
	}
}

// TestInit: --init reaps an orphan that a plain PID 1 sh leaves a zombie,
// and passes on the command's status.
func TestInit(t *testing.T) {
	needIntegration(t)
	// The orphan's parent exits at once; the checker looks while the
	// command, exec'd into a sleep that reaps nothing, still runs.
	orphan := `(sleep 0.1 &); (sleep 0.4; grep -l "^[0-9]* ([^)]*) Z" /proc/[0-9]*/stat | wc -l) & exec sleep 0.6`
	sb := sandbox{subuid: subids, subgid: subids}
	r := sb.run(t, "-p", "--mount-proc", "--", "sh", "-c", orphan)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "1" {
		t.Fatalf("without --init, want one zombie (the check can see one), got:\n%s", r)
	}
	r = sb.run(t, "--init", "--mount-proc", "--", "sh", "-c", orphan)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "0" {
		t.Errorf("with --init, want no zombie, got:\n%s", r)
	}
	r = sb.run(t, "--init", "--", "sh", "-c", "exit 7")
	if r.code != 7 {
		t.Errorf("exit 7 under --init, got:\n%s", r)
	}
	r = sb.run(t, "-p", "--init", "--", "sh", "-c", "kill -TERM $$")
	if r.code != 128+15 {
		t.Errorf("kill -TERM $$ under --init: want exit 143, got:\n%s", r)
	}
	r = sb.run(t, "--init", "--", "/nonexistent")
	if r.code != 127 || r.stderr != "unsh: cannot run '/nonexistent': no such file or directory\n" {
		t.Errorf("a missing command under --init, got:\n%s", r)
	}
}

// TestInitPassesSignals: kill -TERM to unsh reaches the command under --init.
func TestInitPassesSignals(t *testing.T) {
	needIntegration(t)
	for _, args := range [][]string{{"--init"}, {"-p", "--mount-proc"}} {
		out, code := signalled(t, append(args, "--", "sh", "-c", trapTerm))
		if code != 7 || out != "got TERM" {
			t.Errorf("%v: exit %d, output %q; want exit 7 and \"got TERM\"", args, code, out)
		}
	}
}

// TestKillChild: with --kill-child, kill -9 on unsh ends the command.
func TestKillChild(t *testing.T) {
	needIntegration(t)
	cmd, _, pid := startReading(t, []string{"-r", "--kill-child", "--", "sh", "-c", "echo $$; exec sleep 100"})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(2 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return // gone (or a zombie waiting for its reaper)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command (pid %s) outlived unsh by 2s: %s", pid, stat)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProcessOptions covers --wd, --root, --setuid/--setgid, --hostname and
// the time namespace offsets.
func TestProcessOptions(t *testing.T) {
	needIntegration(t)
	root := smallRoot(t)
	clock := clockProgram(t)
	uptime := func() float64 {
		data, _ := os.ReadFile("/proc/uptime")
		v, _ := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
		return v
	}
	sb := sandbox{subuid: subids, subgid: subids}
	tests := []struct {
		name  string
		args  []string
		check func(stdout string) bool
	}{
		{"--wd", []string{"-r", "-w", "/tmp", "--", "sh", "-c", "pwd"}, func(out string) bool { return out == "/tmp" }},
		{"--root", []string{"-r", "-R", root, "--", "/bin/sh", "-c", "echo $PWD; echo /*"}, func(out string) bool { return out == "/\n/bin /lib /lib64" }},
		{"--root and --wd", []string{"-r", "-R", root, "-w", "/bin", "--", "/bin/sh", "-c", "pwd"}, func(out string) bool { return out == "/bin" }},
		{"--setuid --setgid with --map-auto", []string{"--map-auto", "--setuid", "1000", "--setgid", "1000", "--", "sh", "-c", "id -u; id -g; id -G"},
			func(out string) bool { return out == "1000\n1000\n1000" }},
		{"--hostname", []string{"-r", "--hostname", "box", "--", "uname", "-n"}, func(out string) bool { return out == "box" }},
		{"--boottime", []string{"-r", "--boottime", "86400", "--", "cat", "/proc/uptime"}, func(out string) bool {
			v, err := strconv.ParseFloat(strings.Fields(out + " x")[0], 64)
			d := v - uptime()
			return err == nil && d > 86400-60 && d < 86400+60
		}},
		{"--monotonic", []string{"-r", "--monotonic", "86400", "--", clock}, func(out string) bool {
			f := strings.Fields(out)
			inner, err := strconv.ParseFloat(f[0], 64)
			outer := monotonicNow()
			return err == nil && inner-outer > 86400-60 && inner-outer < 86400+60
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sb.run(t, tc.args...)
			if r.code != 0 || !tc.check(strings.TrimSpace(r.stdout)) {
				t.Errorf("got:\n%s", r)
			}
		})
	}
}

// TestPropagation: with / shared in the caller's namespace, -m makes it
// private by default; shared keeps a peer; slave and unchanged give a slave
// (the kernel demotes shared mounts copied into a less privileged namespace).
func TestPropagation(t *testing.T) {
	needIntegration(t)
	sb := sandbox{subuid: subids, subgid: subids, sharedRoot: true}
	show := `grep " / / " /proc/self/mountinfo | grep -o "shared:[0-9]*\|master:[0-9]*" | cut -d: -f1 | tr "\n" " "`
	for _, tc := range []struct{ args, want string }{
		{"-m", ""}, {"-m --propagation=private", ""}, {"-m --propagation=shared", "shared master"},
		{"-m --propagation=slave", "master"}, {"-m --propagation=unchanged", "master"},
	} {
		r := sb.run(t, append(strings.Fields("-r "+tc.args), "--", "sh", "-c", show)...)
		if r.code != 0 || strings.TrimSpace(r.stdout) != tc.want {
			t.Errorf("%s: got:\n%s\nwant tags %q", tc.args, r, tc.want)
		}
	}
}

// TestKeepCaps: --keep-caps raises the capabilities of the user namespace
// as ambient ones, so that they survive exec as a non-root uid.
func TestKeepCaps(t *testing.T) {
	needIntegration(t)
	sb := sandbox{subuid: subids, subgid: subids}
	for _, tc := range []struct {
		args    []string
		ambient bool
	}{
		{[]string{"-c"}, false}, {[]string{"-c", "--keep-caps"}, true},
		{[]string{"--map-auto", "-S", "1000", "-G", "1000", "--keep-caps"}, true},
	} {
		r := sb.run(t, append(tc.args, "--", "grep", "CapAmb", "/proc/self/status")...)
		f := strings.Fields(r.stdout)
		if r.code != 0 || len(f) != 2 || (f[1] != "0000000000000000") == !tc.ambient {
			t.Errorf("%q: got:\n%s\nwant ambient capabilities: %v", tc.args, r, tc.ambient)
		}
	}
}

func TestProcessRefusals(t *testing.T) {
	needIntegration(t)
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"--kill-child=FOO", "true"}, "unsh: invalid signal 'FOO' for --kill-child: no such signal\n"},
		{[]string{"-m", "--propagation=sideways", "true"}, "unsh: invalid value 'sideways' for --propagation: want private, shared, slave or unchanged\n"},
		{[]string{"--propagation=shared", "true"}, "unsh: --propagation=shared needs a mount namespace\nhint: add -m (--mount)\n"},
		{[]string{"-r", "--setuid=1000", "true"}, "unsh: invalid uid '1000' for --setuid: uid 1000 is not mapped inside\nhint: 'unsh --dry-run' shows the map; --map-auto maps your subordinate ids\n"},
		{[]string{"--monotonic=1.5", "true"}, "unsh: invalid offset '1.5' for --monotonic: want whole seconds\n"},
		{[]string{"-r", "-R", "/nonexistent", "true"}, "unsh: stage 1: chroot /nonexistent: no such file or directory\n"},
		{[]string{"-r", "-w", "/nonexistent", "true"}, "unsh: stage 1: chdir /nonexistent: no such file or directory\n"},
		{[]string{"-r", "--mount-proc", "true"}, "unsh: stage 1: mounting proc /proc: operation not permitted\nhint: a proc can be mounted only for a pid namespace of the new user namespace: add -p (--pid)\n"},
	}
	for _, tc := range tests {
		r := sandbox{subuid: subids, subgid: subids}.run(t, tc.args...)
		if r.code != 125 || r.stdout != "" || r.stderr != tc.stderr {
			t.Errorf("%q: got:\n%s\nwant exit 125 and:\n%s", tc.args, r, tc.stderr)
		}
	}
}

// smallRoot copies /bin/sh and the libraries it needs into a tree the test
// user can read.
func smallRoot(t *testing.T) string {
	t.Helper()
	root := sharedDir(t, "unsh-root-", 0o755)
	out, err := exec.Command("ldd", "/bin/sh").Output()
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"/bin/sh"}
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "/") {
			files = append(files, f)
		}
	}
	for _, f := range files {
		real, err := filepath.EvalSymlinks(f)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(real)
		if err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dest, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var cPrograms struct {
	sync.Mutex
	built map[string]string
}

// cProgram builds a small C program next to the built unsh, where the test
// user can run it, once per test binary.
func cProgram(t *testing.T, name, code string) string {
	t.Helper()
	cPrograms.Lock()
	defer cPrograms.Unlock()
	if path, ok := cPrograms.built[name]; ok {
		return path
	}
	dir := filepath.Dir(unshBin)
	src, path := filepath.Join(dir, name+".c"), filepath.Join(dir, name)
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cc", "-o", path, src).CombinedOutput(); err != nil {
		t.Fatalf("cc %s: %v\n%s", name, err, out)
	}
	if cPrograms.built == nil {
		cPrograms.built = map[string]string{}
	}
	cPrograms.built[name] = path
	return path
}

// clockProgram prints CLOCK_MONOTONIC in seconds.
func clockProgram(t *testing.T) string {
	return cProgram(t, "clock", `#include <stdio.h>
#include <time.h>
int main(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("%lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
	return 0;
}
`)
}

func monotonicNow() float64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return float64(ts.Sec) + float64(ts.Nsec)/1e9
}

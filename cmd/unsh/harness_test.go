package main

// The integration harness: it builds bin/unsh once and runs it as a user
// would, as an unprivileged test user, against fake /etc/subuid, /etc/subgid,
// /etc/passwd and /etc/group. The fakes are the upper layer of an overlay
// mounted on /etc inside a private mount namespace, so the machine's real
// files are never touched and newuidmap reads the fakes too.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// unshBin is the built binary, "" when the integration tests cannot run here.
var unshBin string

// The dedicated test user; its ids are chosen free of the real passwd and group files.
var (
	testUser          = "unshtest"
	testUID, testGID  = 0, 0
	integrationReason string
)

const testPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func TestMain(m *testing.M) {
	if file := os.Getenv(peakFileEnv); file != "" {
		os.Exit(measurePeak(file, os.Args[1:]))
	}
	os.Exit(func() int {
		dir, err := setUpIntegration()
		if err != nil {
			integrationReason = err.Error()
		}
		if dir != "" {
			defer os.RemoveAll(dir)
		}
		return m.Run()
	}())
}

// setUpIntegration builds unsh into a directory the test user can read.
func setUpIntegration() (string, error) {
	if os.Geteuid() != 0 {
		return "", errors.New("integration tests run as root (they create a test user's sandbox); make test runs them")
	}
	for _, tool := range []string{"unshare", "setpriv", "newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("%s is missing; make test installs it", tool)
		}
	}
	dir, err := os.MkdirTemp("", "unsh-it-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return dir, err
	}
	bin := filepath.Join(dir, "unsh")
	// go test puts its own go first in PATH.
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return dir, fmt.Errorf("building unsh: %v\n%s", err, out)
	}
	testUID, testGID = freeID("/etc/passwd", 64123), freeID("/etc/group", 64123)
	unshBin = bin
	return dir, nil
}

// freeID finds an id from start on that the database file does not use.
func freeID(file string, start int) int {
	data, _ := os.ReadFile(file)
	used := map[int]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Split(line, ":"); len(f) > 2 {
			if id, err := strconv.Atoi(f[2]); err == nil {
				used[id] = true
			}
		}
	}
	for used[start] {
		start++
	}
	return start
}

// needIntegration skips a test where integration tests cannot run, unless
// UNSH_INTEGRATION=required (make test) makes that a failure.
func needIntegration(t testing.TB) {
	t.Helper()
	if unshBin != "" {
		return
	}
	if os.Getenv("UNSH_INTEGRATION") == "required" {
		t.Fatalf("integration tests required but cannot run: %s", integrationReason)
	}
	t.Skipf("integration test not run: %s", integrationReason)
}

// sharedDir makes a temporary directory that the test user can reach (a
// t.TempDir is root's alone), removed when the test ends.
func sharedDir(t testing.TB, prefix string, mode os.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

// missing marks a fake /etc file that must not exist at all.
const missing = "\x00missing"

// A sandbox is a fake /etc for one run: subuid and subgid contents (missing
// for no file), with the test user added to passwd and group.
type sandbox struct {
	subuid, subgid string
	asRoot         bool     // run unsh as root instead of the test user
	env            []string // extra environment
	peakFile       string   // when set, the peak resident set of the run is written here
	sharedRoot     bool     // make / shared inside the sandbox, to see propagation
}

type result struct {
	stdout, stderr string
	code           int // exit code, or -1 when killed by a signal
	signal         syscall.Signal
}

func (r result) String() string {
	return fmt.Sprintf("exit %d signal %d\nstdout:\n%s\nstderr:\n%s", r.code, r.signal, r.stdout, r.stderr)
}

// upperDir writes the sandbox's files as the upper layer of the /etc overlay.
func (sb sandbox) upperDir(t testing.TB) (upper, work string) {
	t.Helper()
	// Not t.TempDir: a comma from the test's name would end the overlay's lowerdir option.
	root := sharedDir(t, "unsh-etc-", 0o755)
	upper, work = filepath.Join(root, "upper"), filepath.Join(root, "work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	group, err := os.ReadFile("/etc/group")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"passwd": string(passwd) + fmt.Sprintf("%s:x:%d:%d:unsh test:/nonexistent:/bin/sh\n", testUser, testUID, testGID),
		"group":  string(group) + fmt.Sprintf("%s:x:%d:\n", testUser, testGID),
		"subuid": sb.subuid,
		"subgid": sb.subgid,
	}
	for name, content := range files {
		path := filepath.Join(upper, name)
		if content == missing {
			// A 0/0 character device is overlayfs's whiteout: the file is gone.
			if err := unix.Mknod(path, unix.S_IFCHR|0o644, 0); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return upper, work
}

// command builds the whole chain: a private mount namespace with the fake
// /etc, then setpriv to the test user, then argv. Each step execs the next,
// so the process that the test waits for is argv[0] itself.
func (sb sandbox) command(t testing.TB, ctx context.Context, argv ...string) *exec.Cmd {
	t.Helper()
	needIntegration(t)
	upper, work := sb.upperDir(t)
	script := fmt.Sprintf("mount -t overlay unsh-test -o lowerdir=/etc,upperdir=%s,workdir=%s /etc || exit 99\n", upper, work)
	if sb.sharedRoot {
		script += "mount --make-rshared / || exit 99\n"
	}
	if sb.peakFile != "" {
		meter, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		script += fmt.Sprintf("export %s=%s; exec %s ", peakFileEnv, sb.peakFile, meter)
	} else {
		script += "exec "
	}
	if !sb.asRoot {
		script += fmt.Sprintf("setpriv --reuid=%d --regid=%d --clear-groups -- ", testUID, testGID)
	}
	script += `"$@"`
	chain := append([]string{"--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh"}, argv...)
	cmd := exec.CommandContext(ctx, "unshare", chain...)
	cmd.Env = append([]string{"PATH=" + testPath, "HOME=/", "SHELL=/bin/sh", "LC_ALL=C"}, sb.env...)
	cmd.Dir = "/"
	return cmd
}

// peakFileEnv turns the test binary into a meter: it runs its arguments as a
// child and writes the child's peak resident set (KiB) to the file named.
// This keeps the sandbox's own tools (mount) out of the measurement.
const peakFileEnv = "UNSH_TEST_PEAK_FILE"

func measurePeak(file string, argv []string) int {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, peakFileEnv+"=") })
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	peak := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	if werr := os.WriteFile(file, []byte(strconv.FormatInt(peak, 10)), 0o644); werr != nil {
		fmt.Fprintln(os.Stderr, werr)
		return 1
	}
	return cmd.ProcessState.ExitCode()
}

// run runs unsh in the sandbox and waits for it, for at most 60 seconds.
func (sb sandbox) run(t *testing.T, args ...string) result {
	t.Helper()
	return sb.runArgv(t, append([]string{unshBin}, args...)...)
}

// runArgv runs argv in the sandbox as run runs unsh.
func (sb sandbox) runArgv(t *testing.T, argv ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := sb.command(t, ctx, argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		ws := exitErr.Sys().(syscall.WaitStatus)
		r.code = ws.ExitStatus()
		if ws.Signaled() {
			r.signal = ws.Signal()
		}
	default:
		t.Fatalf("running %q: %v", argv, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%q did not finish within 60s:\n%s", argv, r)
	}
	if r.code == 99 {
		t.Fatalf("the sandbox could not mount its fake /etc:\n%s", r)
	}
	return r
}

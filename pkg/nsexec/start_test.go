package nsexec

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// needRoot: writing a map for an arbitrary stage needs CAP_SETUID; make test
// runs as root and makes a missing root a failure.
func needRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("UNSH_INTEGRATION") == "required" {
		t.Fatal("this test needs root")
	}
	t.Skip("this test needs root")
}

// writeRootMaps maps root onto itself, as a privileged caller of Start would.
func writeRootMaps(pid int) error {
	for _, f := range []string{"uid_map", "gid_map"} {
		if err := os.WriteFile("/proc/"+strconv.Itoa(pid)+"/"+f, []byte("0 0 1\n"), 0); err != nil {
			return err
		}
	}
	return nil
}

// runStart starts argv through the stages and returns its output and status.
func runStart(t *testing.T, cfg Config) (string, syscall.WaitStatus) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// The write end is inherited the way unsh's own inherited descriptors
	// are: without close-on-exec, at its own number.
	if _, err := unix.FcntlInt(w.Fd(), unix.F_SETFD, 0); err != nil {
		t.Fatal(err)
	}
	cfg.Args = []string{"sh", "-c", "exec >&" + strconv.Itoa(int(w.Fd())) + "; " + cfg.Args[0]}
	cfg.Env = os.Environ()
	proc, err := Start(cfg, writeRootMaps)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := proc.Wait()
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 4096)
	n, _ := r.Read(out)
	r.Close()
	return strings.TrimSpace(string(out[:n])), ws
}

// TestStartForkIntoPidNamespace goes through every stage: user namespace,
// maps, a pid namespace, the CLONE_PARENT fork, and exec as PID 1.
func TestStartForkIntoPidNamespace(t *testing.T) {
	needRoot(t)
	out, ws := runStart(t, Config{Args: []string{"echo $$; cat /proc/self/uid_map; exit 3"}, Cloneflags: unix.CLONE_NEWPID, Fork: true})
	if got := strings.Join(strings.Fields(out), " "); got != "1 0 0 1" || ws.ExitStatus() != 3 {
		t.Errorf("output %q, status %v; want PID 1, the map 0 0 1 and exit 3", out, ws)
	}
}

func TestStartWithoutFork(t *testing.T) {
	needRoot(t)
	out, ws := runStart(t, Config{Args: []string{"cat /proc/self/uid_map; exit 4"}})
	if got := strings.Join(strings.Fields(out), " "); got != "0 0 1" || ws.ExitStatus() != 4 {
		t.Errorf("output %q, status %v", out, ws)
	}
}

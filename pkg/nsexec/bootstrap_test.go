package nsexec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func uid(v uint32) *uint32 { return &v }

var sample = Config{Args: []string{"sh", "-c", "echo hi"}, Cloneflags: unix.CLONE_NEWNS, Fork: true, UID: uid(0)}

func TestBootstrapRoundTrip(t *testing.T) {
	for _, args := range [][]string{{"true"}, {"sh", "-c", "echo $0", ""}, {"ü", strings.Repeat("x", 5000)}} {
		cfg := sample
		cfg.Args = args
		got, err := checkBootstrap(encodeBootstrap(cfg, 1234))
		if err != nil || !slices.Equal(got, args) {
			t.Errorf("%q: got %q, %v", args, got, err)
		}
	}
}

// field appends one raw field, for building bad data by hand.
func field(out []byte, kind uint16, value []byte) []byte {
	out = binary.NativeEndian.AppendUint16(out, kind)
	out = binary.NativeEndian.AppendUint16(out, 0)
	out = binary.NativeEndian.AppendUint32(out, uint32(len(value)))
	return append(out, value...)
}

// withHeader puts a correct header in front of a payload.
func withHeader(payload []byte) []byte {
	out := binary.NativeEndian.AppendUint32(nil, 0x48534e55)
	out = binary.NativeEndian.AppendUint32(out, 1)
	out = binary.NativeEndian.AppendUint32(out, uint32(len(payload)))
	return append(out, payload...)
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// scalars is every required integer field, valid.
func scalars() []byte {
	var p []byte
	for kind := uint16(2); kind <= 6; kind++ {
		p = field(p, kind, u32(0))
	}
	return p
}

func TestBootstrapRefused(t *testing.T) {
	good := encodeBootstrap(sample, 1)
	arg := field(nil, 1, []byte("true\x00"))
	tests := []struct {
		name string
		data []byte
		want parseError
	}{
		{"empty", nil, 1},
		{"truncated header", good[:7], 1},
		{"bad magic", append([]byte{0, 0, 0, 0}, good[4:]...), 2},
		{"bad version", append(append(append([]byte{}, good[:4]...), 9, 0, 0, 0), good[8:]...), 3},
		{"truncated payload", good[:len(good)-1], 4},
		{"length too large", withHeader(nil)[:8], 1},
		{"field header cut", withHeader(append(scalars(), arg[:5]...)), 5},
		{"field longer than the data", withHeader(append(scalars(), field(nil, 1, []byte("true\x00"))[:10]...)), 5},
		{"unknown field", withHeader(append(append(scalars(), arg...), field(nil, 99, u32(0))...)), 6},
		{"nonzero reserved bits", withHeader(append(append(scalars(), arg...), 1, 0, 1, 0, 0, 0, 0, 0)), 6},
		{"integer of 3 bytes", withHeader(append(append(field(nil, 2, []byte{0, 0, 0}), arg...), scalars()...)), 7},
		{"fork of 2", withHeader(append(append(field(nil, 3, u32(2)), arg...), scalars()...)), 7},
		{"unterminated string", withHeader(append(scalars(), field(nil, 1, []byte("true"))...)), 8},
		{"NUL inside a string", withHeader(append(scalars(), field(nil, 1, []byte("tr\x00ue\x00"))...)), 8},
		{"empty string field", withHeader(append(scalars(), field(nil, 1, nil)...)), 8},
		{"duplicate field", withHeader(append(append(scalars(), arg...), field(nil, 4, u32(0))...)), 9},
		{"no argument", withHeader(scalars()), 10},
		{"no uid", withHeader(append(field(nil, 2, u32(0)), arg...)), 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkBootstrap(tc.data)
			var got parseError
			if !errors.As(err, &got) || got != tc.want {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzParseBootstrap(f *testing.F) {
	f.Add(encodeBootstrap(sample, 1))
	f.Add(encodeBootstrap(Config{Args: []string{"x"}}, 7))
	f.Add(withHeader(append(scalars(), field(nil, 1, []byte("a\x00"))...)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		argv, err := checkBootstrap(data)
		if err == nil && len(argv) == 0 {
			t.Fatal("accepted without a command")
		}
		if err == nil {
			// What the parser accepts, the encoder writes the same way.
			cfg := Config{Args: argv}
			if _, err := checkBootstrap(encodeBootstrap(cfg, 1)); err != nil {
				t.Fatalf("re-encoded %q refused: %v", argv, err)
			}
		}
	})
}

// stageWith starts this test binary as a stage (stage.c is linked into it,
// and its constructor takes over when _UNSH_STAGE is set) and feeds it data; it returns
// the first message the stage sends, and how the stage ended.
func stageWith(t *testing.T, data []byte) (message, *os.ProcessState) {
	t.Helper()
	sock, childFD, err := socketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	child := os.NewFile(uintptr(childFD), "child")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.ExtraFiles = []*os.File{child}
	cmd.Env = append(os.Environ(), stageEnv+"=3")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	if _, err := sock.Write(data); err != nil {
		t.Fatal(err)
	}
	// No more data: a stage that waits for more sees EOF.
	if err := unix.Shutdown(int(sock.Fd()), unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	st := &starter{sock: sock}
	m, err := st.read()
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	sock.Close()
	_ = cmd.Wait()
	if stderr.Len() > 0 {
		t.Logf("stage stderr: %s", stderr.String())
	}
	return m, cmd.ProcessState
}

// TestStageRefusesBadBootstrap feeds bad data to a real stage: it reports
// the parse step with the reason and exits 125, never crashing.
func TestStageRefusesBadBootstrap(t *testing.T) {
	good := encodeBootstrap(sample, os.Getpid())
	tests := []struct {
		name   string
		data   []byte
		detail parseError
	}{
		{"unterminated string", withHeader(append(scalars(), field(nil, 1, []byte("true"))...)), 8},
		{"wrong field length", withHeader(append(scalars(), 1, 0, 0, 0, 200, 0, 0, 0, 'a', 0)), 5},
		{"bad magic", append([]byte("XXXX"), good[4:]...), 2},
		{"length beyond the limit", append(append([]byte{}, good[:8]...), 0xff, 0xff, 0xff, 0x7f), 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, state := stageWith(t, tc.data)
			if m.Type != msgError || m.Step != stepParseBootstrap || parseError(m.Detail) != tc.detail {
				t.Errorf("message %+v, want a parse error %v", m, tc.detail)
			}
			if state.ExitCode() != 125 {
				t.Errorf("stage ended %v, want exit 125", state)
			}
		})
	}
	t.Run("truncated then closed", func(t *testing.T) {
		m, state := stageWith(t, good[:len(good)/2])
		if m.Type != 0 || state.ExitCode() != 125 {
			t.Errorf("message %+v, end %v: want no message and exit 125", m, state)
		}
	})
}

// TestStrayVariable: unsh started with a stray _UNSH_STAGE says so and exits 125.
func TestStrayVariable(t *testing.T) {
	for _, value := range []string{"junk", "1", "99999", strconv.Itoa(1 << 30)} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), stageEnv+"="+value)
		out, _ := cmd.CombinedOutput()
		want := "unsh: _UNSH_STAGE is set but does not name a bootstrap socket; it is internal to unsh\n"
		if cmd.ProcessState.ExitCode() != 125 || string(out) != want {
			t.Errorf("%s: exit %d, output %q", value, cmd.ProcessState.ExitCode(), out)
		}
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// subids is the usual fake file: one range of the test user.
const subids = "unshtest:100000:65536\n"

// planOf runs unsh --dry-run --json with args and decodes the plan.
func planOf(t *testing.T, sb sandbox, args ...string) (jsonPlan, result) {
	t.Helper()
	r := sb.run(t, append([]string{"--dry-run", "--json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("unsh --dry-run --json %q failed:\n%s", args, r)
	}
	var p jsonPlan
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatalf("the plan is not JSON: %v\n%s", err, r)
	}
	return p, r
}

// lines renders a map as "inner outer count origin" lines.
func lines(m []jsonRange) string {
	var b strings.Builder
	for _, r := range m {
		fmt.Fprintf(&b, "%d %d %d %s\n", r.Inner, r.Outer, r.Count, r.Origin)
	}
	return b.String()
}

func TestDryRunMaps(t *testing.T) {
	needIntegration(t)
	u, g := testUID, testGID
	f := fmt.Sprintf
	tests := []struct {
		name           string
		subuid, subgid string
		args           []string
		uidMap, gidMap string // "inner outer count origin" lines
		uidArgv        string // the helper argv, "" when unsh writes the map itself
		setgroups      string
	}{
		{
			name: "default with ranges is --map-auto", subuid: subids, subgid: subids,
			uidMap:  f("0 %d 1 caller\n1 100000 65536 /etc/subuid:1\n", u),
			gidMap:  f("0 %d 1 caller\n1 100000 65536 /etc/subgid:1\n", g),
			uidArgv: f("/usr/bin/newuidmap PID 0 %d 1 1 100000 65536", u), setgroups: "allow",
		},
		{
			name: "default without gid ranges is -r", subuid: subids, subgid: "",
			uidMap: f("0 %d 1 caller\n", u), gidMap: f("0 %d 1 caller\n", g), setgroups: "deny",
		},
		{
			name: "numeric owner, two ranges and a decoy", args: []string{"--map-auto"},
			subuid:  f("# comment\n\nother:300000:65536\n%d:100000:65536\nunshtest:200000:1000\n", u),
			subgid:  "unshtest:100000:65536\r\nunshtest:200000:1000\r\n",
			uidMap:  f("0 %d 1 caller\n1 100000 65536 /etc/subuid:4\n65537 200000 1000 /etc/subuid:5\n", u),
			gidMap:  f("0 %d 1 caller\n1 100000 65536 /etc/subgid:1\n65537 200000 1000 /etc/subgid:2\n", g),
			uidArgv: f("/usr/bin/newuidmap PID 0 %d 1 1 100000 65536 65537 200000 1000", u), setgroups: "allow",
		},
		{
			name: "owner 1001abc does not match uid 1001", args: []string{"--map-auto"},
			subuid: f("%dabc:500000:10\nunshtest:100000:65536\n", u), subgid: subids,
			uidMap:  f("0 %d 1 caller\n1 100000 65536 /etc/subuid:2\n", u),
			gidMap:  f("0 %d 1 caller\n1 100000 65536 /etc/subgid:1\n", g),
			uidArgv: f("/usr/bin/newuidmap PID 0 %d 1 1 100000 65536", u), setgroups: "allow",
		},
		{
			name: "duplicated and overlapping lines merge", args: []string{"--map-auto"},
			subuid: "unshtest:100000:65536\nunshtest:100000:65536\nunshtest:150000:20000\n", subgid: subids,
			uidMap:  f("0 %d 1 caller\n1 100000 70000 /etc/subuid:1,2,3\n", u),
			gidMap:  f("0 %d 1 caller\n1 100000 65536 /etc/subgid:1\n", g),
			uidArgv: f("/usr/bin/newuidmap PID 0 %d 1 1 100000 70000", u), setgroups: "allow",
		},
		{
			name: "own uid inside a range is cut out", args: []string{"--map-auto"},
			subuid: f("unshtest:%d:10\n", u-5), subgid: subids,
			uidMap:  f("0 %d 1 caller\n1 %d 5 /etc/subuid:1\n6 %d 4 /etc/subuid:1\n", u, u-5, u+1),
			gidMap:  f("0 %d 1 caller\n1 100000 65536 /etc/subgid:1\n", g),
			uidArgv: f("/usr/bin/newuidmap PID 0 %d 1 1 %d 5 6 %d 4", u, u-5, u+1), setgroups: "allow",
		},
		{
			name: "keep-id with -c", args: []string{"--map-auto", "-c"}, subuid: subids, subgid: subids,
			uidMap:  f("0 100000 %d /etc/subuid:1\n%d %d 1 caller\n%d %d %d /etc/subuid:1\n", u, u, u, u+1, 100000+u, 65536-u),
			gidMap:  f("0 100000 %d /etc/subgid:1\n%d %d 1 caller\n%d %d %d /etc/subgid:1\n", g, g, g, g+1, 100000+g, 65536-g),
			uidArgv: f("/usr/bin/newuidmap PID 0 100000 %d %d %d 1 %d %d %d", u, u, u, u+1, 100000+u, 65536-u), setgroups: "allow",
		},
		{
			name: "--map-users repeated with -r", args: []string{"-r", "--map-users=1:100000:10", "--map-users=100010,11,5", "--map-groups=subids"},
			subuid: subids, subgid: subids,
			uidMap:  f("0 %d 1 caller\n1 100000 10 --map-users\n11 100010 5 --map-users\n", u),
			gidMap:  f("0 %d 1 caller\n100000 100000 65536 /etc/subgid:1\n", g),
			uidArgv: f("/usr/bin/newuidmap PID 0 %d 1 1 100000 10 11 100010 5", u), setgroups: "allow",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan, _ := planOf(t, sandbox{subuid: tc.subuid, subgid: tc.subgid}, tc.args...)
			if got := lines(plan.UID.Map); got != tc.uidMap {
				t.Errorf("uid map:\n%s\nwant:\n%s", got, tc.uidMap)
			}
			if got := lines(plan.GID.Map); got != tc.gidMap {
				t.Errorf("gid map:\n%s\nwant:\n%s", got, tc.gidMap)
			}
			if got := strings.Join(plan.UID.Argv, " "); got != tc.uidArgv {
				t.Errorf("uid helper argv %q, want %q", got, tc.uidArgv)
			}
			if plan.Setgroups != tc.setgroups {
				t.Errorf("setgroups %q, want %q", plan.Setgroups, tc.setgroups)
			}
		})
	}
}

// TestDryRunRefusals: bad input gives exit 125, nothing on stdout, and exactly
// the error line (and hint) of spec §2 on stderr.
func TestDryRunRefusals(t *testing.T) {
	needIntegration(t)
	who := fmt.Sprintf(`user "unshtest" (uid %d)`, testUID)
	var ranges341 []string
	for i := 0; i < 341; i++ {
		ranges341 = append(ranges341, fmt.Sprintf("--map-users=%d:%d:1", i+1, 200000+2*i))
	}
	tests := []struct {
		name           string
		subuid, subgid string
		args           []string
		stderr         string
	}{
		{"no entry", "other:100000:65536\n", subids, []string{"--map-auto"},
			"unsh: no subordinate uid range for " + who + " in /etc/subuid\nhint: sudo usermod --add-subuids 100000-165535 unshtest\n"},
		{"no gid entry", subids, "", []string{"--map-auto"},
			"unsh: no subordinate gid range for " + who + " in /etc/subgid\nhint: sudo usermod --add-subgids 100000-165535 unshtest\n"},
		{"missing file", missing, subids, []string{"--map-users=auto", "-r"},
			"unsh: no subordinate uid range for " + who + " in /etc/subuid\nhint: sudo usermod --add-subuids 100000-165535 unshtest\n"},
		{"count 0 is skipped with a warning", "unshtest:100000:0\n", subids, []string{"--map-auto"},
			"unsh: warning: /etc/subuid:1: count is 0; line skipped\nunsh: no subordinate uid range for " + who + " in /etc/subuid\nhint: sudo usermod --add-subuids 100000-165535 unshtest\n"},
		{"spec with two fields", subids, subids, []string{"--map-users=0:1"},
			"unsh: invalid mapping '0:1' for --map-users: want INNER:OUTER:COUNT, OUTER,INNER,COUNT, auto, subids or all, got 2 field(s)\n"},
		{"spec with a letter", subids, subids, []string{"--map-users=a:1:1"},
			"unsh: invalid mapping 'a:1:1' for --map-users: inner \"a\" is not a decimal number\n"},
		{"spec with four fields", subids, subids, []string{"--map-groups=1:2:3:4"},
			"unsh: invalid mapping '1:2:3:4' for --map-groups: want INNER:OUTER:COUNT, OUTER,INNER,COUNT, auto, subids or all, got 4 field(s)\n"},
		{"negative id", subids, subids, []string{"--map-users=-1:0:1"},
			"unsh: invalid mapping '-1:0:1' for --map-users: inner \"-1\" is not a decimal number\n"},
		{"count 0 in a spec", subids, subids, []string{"--map-users=0:1:0"},
			"unsh: invalid mapping '0:1:0' for --map-users: count must be at least 1\n"},
		{"empty spec", subids, subids, []string{"--map-users="},
			"unsh: invalid mapping '' for --map-users: it is empty\n"},
		{"341 ranges", subids, subids, ranges341,
			"unsh: invalid uid map: 341 ranges, the kernel takes at most 340\n"},
		{"overlap with the caller", subids, subids, []string{"-r", "--map-users=0:100000:10"},
			fmt.Sprintf("unsh: invalid uid map: range \"0 100000 10\" (--map-users) overlaps \"0 %d 1\" (caller) on the inner side\n", testUID)},
		{"bad setgroups", subids, subids, []string{"--setgroups=maybe"},
			"unsh: invalid value 'maybe' for --setgroups: want allow or deny\n"},
		{"unknown user", subids, subids, []string{"--map-user=nosuchuser"},
			"unsh: invalid user 'nosuchuser' for --map-user: no such user in the passwd database\n"},
		{"unknown option", subids, subids, []string{"--frobnicate"},
			"unsh: unknown flag: --frobnicate\nhint: see 'unsh --help'\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sandbox{subuid: tc.subuid, subgid: tc.subgid}.run(t, append([]string{"--dry-run"}, tc.args...)...)
			if r.code != 125 || r.stdout != "" || r.stderr != tc.stderr {
				t.Errorf("got:\n%s\nwant exit 125, no stdout and stderr:\n%s", r, tc.stderr)
			}
		})
	}
}

// TestDryRunWarnings: a malformed line of the caller's is skipped with a
// warning naming file and line; one of another user's is ignored silently.
func TestDryRunWarnings(t *testing.T) {
	needIntegration(t)
	subuid := "other:x:y\nunshtest:100000:0x10\nunshtest:200000:65536\n"
	r := sandbox{subuid: subuid, subgid: subids}.run(t, "--dry-run", "--map-auto")
	wantErr := "unsh: warning: /etc/subuid:2: count \"0x10\" is not a decimal number; line skipped\n"
	if r.code != 0 || r.stderr != wantErr || !strings.Contains(r.stdout, "1  200000  65536  /etc/subuid:3") {
		t.Errorf("got:\n%s\nwant exit 0, the range of line 3, and stderr:\n%s", r, wantErr)
	}
}

// TestDryRunText checks the plan as a person reads it.
func TestDryRunText(t *testing.T) {
	needIntegration(t)
	r := sandbox{subuid: subids, subgid: subids}.run(t, "--dry-run", "--", "bash", "-c", "echo $0")
	u, g := testUID, testGID
	want := fmt.Sprintf(`mapping:     --map-auto (the default, as user "unshtest" (uid %d) has subordinate uids and gids)
uid map:     written by /usr/bin/newuidmap PID 0 %d 1 1 100000 65536
             0  %d   1      caller
             1  100000  65536  /etc/subuid:1
gid map:     written by /usr/bin/newgidmap PID 0 %d 1 1 100000 65536
             0  %d   1      caller
             1  100000  65536  /etc/subgid:1
setgroups:   allow
namespaces:  user
process:     exec in place
command:     bash -c 'echo $0'
directory:   /
`, u, u, u, g, g)
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Errorf("got:\n%s\nwant stdout:\n%s", r, want)
	}
}

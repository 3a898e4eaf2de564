package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unsh/unsh/pkg/idmap"
	"github.com/unsh/unsh/pkg/newuidmap"
)

// testHost is an unprivileged caller, alice (1001:1001), with the given subid
// files, in the initial namespace, on a machine that has both helpers.
func testHost(t *testing.T, subuid, subgid string) host {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	all := []idmap.Block{{Start: 0, End: 4294967295, Origin: "/proc/self/uid_map:1"}}
	return host{
		uid: 1001, gid: 1001, user: "alice", shell: "/bin/bash", dir: "/home/alice",
		subuidPath: write("subuid", subuid), subgidPath: write("subgid", subgid),
		uidParent: all, gidParent: all,
		findHelper: func(name string) (string, error) { return "/usr/bin/" + name, nil },
		lookupUser: func(name string) (uint32, error) {
			if name == "bob" {
				return 1002, nil
			}
			return 0, errors.New("no such user in the passwd database")
		},
		lookupGroup: func(name string) (uint32, error) { return 0, errors.New("no such group in the group database") },
	}
}

// TestPlanMethods covers spec §3.5 (1) and (2): who writes each map, and setgroups.
func TestPlanMethods(t *testing.T) {
	const subs = "alice:100000:65536\n"
	tests := []struct {
		name                 string
		args                 []string
		privileged           bool
		uidMethod, gidMethod Method
		setgroups            string
		writeSetgroups       bool
		gidMap               string
	}{
		{"-r writes both itself, setgroups deny", []string{"-r"}, false, MethodWrite, MethodWrite, "deny", true, "0 1001 1\n"},
		{"-r --setgroups=allow sends the gid map to newgidmap", []string{"-r", "--setgroups=allow"}, false, MethodWrite, MethodHelper, "allow", false, "0 1001 1\n"},
		{"-r --setgroups=deny", []string{"-r", "--setgroups=deny"}, false, MethodWrite, MethodWrite, "deny", true, "0 1001 1\n"},
		{"--map-auto uses both helpers", []string{"--map-auto"}, false, MethodHelper, MethodHelper, "allow", false, "0 1001 1\n1 100000 65536\n"},
		{"--map-auto --setgroups=deny denies before newgidmap", []string{"--map-auto", "--setgroups=deny"}, false, MethodHelper, MethodHelper, "deny", true, "0 1001 1\n1 100000 65536\n"},
		{"privileged caller writes multi-line maps itself", []string{"--map-auto"}, true, MethodWrite, MethodWrite, "allow", false, "0 1001 1\n1 100000 65536\n"},
		{"privileged -r keeps setgroups allowed", []string{"-r"}, true, MethodWrite, MethodWrite, "allow", false, "0 1001 1\n"},
		{"--map-user alone leaves the gid map unwritten", []string{"--map-user=bob"}, false, MethodWrite, MethodNone, "allow", false, ""},
		{"--map-user alone with --setgroups=deny", []string{"--map-user=5", "--setgroups=deny"}, false, MethodWrite, MethodNone, "deny", true, ""},
		{"--map-auto --map-user=5 keeps root on the gid side", []string{"--map-auto", "--map-user=5"}, false, MethodHelper, MethodHelper, "allow", false, "0 1001 1\n1 100000 65536\n"},
		{"explicit ranges when privileged", []string{"-r", "--map-groups=1:2000:10"}, true, MethodWrite, MethodWrite, "allow", false, "0 1001 1\n1 2000 10\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := testHost(t, subs, subs)
			h.capSetUID, h.capSetGID = tc.privileged, tc.privileged
			o, err := parseOptions(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			p, err := newPlan(o, h)
			if err != nil {
				t.Fatal(err)
			}
			if p.UID.Method != tc.uidMethod || p.GID.Method != tc.gidMethod {
				t.Errorf("methods uid %s gid %s, want %s %s", p.UID.Method, p.GID.Method, tc.uidMethod, tc.gidMethod)
			}
			if p.Setgroups != tc.setgroups || p.WriteSetgroups != tc.writeSetgroups {
				t.Errorf("setgroups %q (write %v), want %q (write %v)", p.Setgroups, p.WriteSetgroups, tc.setgroups, tc.writeSetgroups)
			}
			if got := p.GID.Map.Text(); got != tc.gidMap {
				t.Errorf("gid map %q, want %q", got, tc.gidMap)
			}
			if tc.gidMethod == MethodHelper && p.GID.Helper != "/usr/bin/newgidmap" {
				t.Errorf("gid helper %q", p.GID.Helper)
			}
		})
	}
}

func TestPlanDefaults(t *testing.T) {
	h := testHost(t, "alice:100000:65536\n", "alice:100000:65536\n")
	p, err := newPlan(options{}, h)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Mapping, "--map-auto (the default") || strings.Join(p.Command, " ") != "/bin/bash" || p.Dir != "/home/alice" {
		t.Errorf("plan %+v", p)
	}
	if got, want := p.UID.Map.Text(), "0 1001 1\n1 100000 65536\n"; got != want {
		t.Errorf("uid map %q, want %q", got, want)
	}
	h = testHost(t, "alice:100000:65536\n", "")
	p, err = newPlan(options{}, h)
	if err != nil || !strings.HasPrefix(p.Mapping, "--map-root-user (the default") || p.UID.Map.Text() != "0 1001 1\n" {
		t.Errorf("plan %+v, err %v", p, err)
	}
}

func TestPlanMissingHelper(t *testing.T) {
	h := testHost(t, "alice:100000:65536\n", "alice:100000:65536\n")
	h.findHelper = func(name string) (string, error) { return "", &newuidmap.NotFoundError{Name: name} }
	_, err := newPlan(options{mapAuto: true}, h)
	var hint interface{ Hint() string }
	if err == nil || err.Error() != "cannot write the uid map: newuidmap not found in PATH" ||
		!errors.As(err, &hint) || !strings.Contains(hint.Hint(), "uidmap package") {
		t.Errorf("err %v", err)
	}
	// -r needs no helper, so a missing one does not matter.
	if _, err := newPlan(options{mapRoot: true}, h); err != nil {
		t.Errorf("-r without helpers: %v", err)
	}
}

// TestPlanNested: inside a namespace whose map lacks some subordinate ids,
// they are clipped with a warning, and "all" maps the namespace's own ids.
func TestPlanNested(t *testing.T) {
	h := testHost(t, "alice:100000:65536\n", "alice:100000:65536\n")
	h.uidParent = []idmap.Block{{Start: 0, End: 1002, Origin: "/proc/self/uid_map:1"}, {Start: 100000, End: 110000, Origin: "/proc/self/uid_map:2"}}
	p, err := newPlan(options{mapAuto: true, mapGroups: []string{}}, h)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.UID.Map.Text(), "0 1001 1\n1 100000 10000\n"; got != want {
		t.Errorf("uid map %q, want %q", got, want)
	}
	if len(p.Warnings) != 1 || p.Warnings[0] != h.subuidPath+":1: range 100000-165535 is not wholly inside this namespace's uid map; 55536 of its ids are left out" {
		t.Errorf("warnings %q", p.Warnings)
	}
	p, err = newPlan(options{mapUsers: []string{"all"}, mapGroups: []string{"all"}}, h)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.UID.Map.Text(), "0 0 1002\n100000 100000 10000\n"; got != want {
		t.Errorf("uid map %q, want %q", got, want)
	}
}

// TestPlanImplications: options that imply others, as in util-linux unshare.
func TestPlanImplications(t *testing.T) {
	tests := []struct {
		args       string
		namespaces string
		fork       bool
	}{
		{"-r", "user", false},
		{"-r -U", "user", false},
		{"-r -p", "user pid", true},
		{"-r --init", "user pid", true},
		{"-r --mount-proc", "user mount", false},
		{"-r --hostname=box", "user uts", false},
		{"-r --monotonic=5", "user time", true},
		{"-r -m -u -i -n -C -T -p", "user mount uts ipc net pid cgroup time", true},
		{"-r -f", "user", true},
	}
	for _, tc := range tests {
		o, err := parseOptions(strings.Fields(tc.args))
		if err != nil {
			t.Fatal(err)
		}
		p, err := newPlan(o, testHost(t, "", ""))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(p.Namespaces, " "); got != tc.namespaces || p.Process.Fork != tc.fork {
			t.Errorf("%s: namespaces %q fork %v, want %q %v", tc.args, got, p.Process.Fork, tc.namespaces, tc.fork)
		}
	}
}

func TestPlanProcess(t *testing.T) {
	o, err := parseOptions(strings.Fields("--map-auto --mount-proc=/p -R /srv -w /w -S 5 -G 6 --kill-child=term --boottime=-3 --keep-caps --hostname=h"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPlan(o, testHost(t, "alice:100000:65536\n", "alice:100000:65536\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := "fork, propagation private, hostname h, root /srv, proc at /p, setgid 6, setuid 5, keep capabilities, boottime -3s, SIGTERM when unsh dies"
	if got := describeProcess(p.Process); got != want || p.Dir != "/w" {
		t.Errorf("process %q, dir %q\nwant %q, /w", got, p.Dir, want)
	}
	// The JSON names are documented in the man page: keep them.
	data, err := json.Marshal(planJSON(p).Process)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"fork":true,"init":false,"mount_proc":"/p","propagation":"private","root":"/srv","setuid":5,"setgid":6,` +
		`"keep_caps":true,"boottime":-3,"hostname":"h","kill_signal":"SIGTERM"}`
	if string(data) != wantJSON {
		t.Errorf("JSON process %s\nwant %s", data, wantJSON)
	}
}

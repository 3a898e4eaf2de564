package subid

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/unsh/unsh/pkg/idmap"
)

// alice is the caller of most tests: user "alice", uid 1001.
var alice = Owner{Name: "alice", ID: 1001}

// block builds a Block from its first id and count, as /etc/subuid writes it.
func block(start, count uint64, origin string) idmap.Block {
	return idmap.Block{Start: start, End: start + count, Origin: origin}
}

// sameBlocks treats nil and empty alike: "no blocks" either way.
func sameBlocks(a, b []idmap.Block) bool {
	return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b)
}

// sameStrings treats nil and empty alike.
func sameStrings(a, b []string) bool {
	return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b)
}

// Spec §3.2: which lines of /etc/subuid are the caller's, and what becomes of them.
func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		owner    Owner
		file     string
		want     []idmap.Block
		warnings []string
	}{
		{
			name:  "owner by name",
			owner: alice,
			file:  "alice:100000:65536\n",
			want:  []idmap.Block{block(100000, 65536, "/etc/subuid:1")},
		},
		{
			name:  "owner by numeric uid",
			owner: alice,
			file:  "1001:100000:65536\n",
			want:  []idmap.Block{block(100000, 65536, "/etc/subuid:1")},
		},
		{
			name:  "owner by numeric uid of a user the passwd database does not know",
			owner: Owner{ID: 1001},
			file:  ":200000:1\n1001:100000:65536\n",
			want:  []idmap.Block{block(100000, 65536, "/etc/subuid:2")},
		},
		{
			name:  "1001abc is not uid 1001",
			owner: alice,
			file:  "1001abc:100000:65536\n",
			want:  nil,
		},
		{
			name:  "other numbers and names do not match",
			owner: alice,
			file:  "1002:100000:10\n100:100010:10\n10011:100020:10\nAlice:100030:10\nalice2:100040:10\n alice :100050:10\n-1001:100060:10\n",
			want:  nil,
		},
		{
			name:  "two ranges of the caller and a decoy of another user, in file order",
			owner: alice,
			file:  "alice:300000:10\nbob:100000:65536\n1001:200000:65536\n",
			want: []idmap.Block{
				block(300000, 10, "/etc/subuid:1"),
				block(200000, 65536, "/etc/subuid:3"),
			},
		},
		{
			name:  "comments, blank lines and CRLF line ends",
			owner: alice,
			file: "# subordinate uids\r\n" +
				"\r\n" +
				"   \n" +
				"  # alice:1:1 is a comment\n" +
				"bob:100000:65536\r\n" +
				"alice:165536:65536\r\n" +
				"\n" +
				"\talice:231072:10  \r\n" +
				"alice:300000:5\r", // CRLF without the LF, at the end of the file
			want: []idmap.Block{
				block(165536, 65536, "/etc/subuid:6"),
				block(231072, 10, "/etc/subuid:8"),
				block(300000, 5, "/etc/subuid:9"),
			},
		},
		{
			name:  "no final newline",
			owner: alice,
			file:  "alice:100000:65536",
			want:  []idmap.Block{block(100000, 65536, "/etc/subuid:1")},
		},
		{
			name:  "empty file",
			owner: alice,
			file:  "",
			want:  nil,
		},
		{
			name:  "the largest ranges that end at 2^32",
			owner: alice,
			file:  "alice:0:4294967296\nalice:4294967295:1\n",
			want: []idmap.Block{
				{Start: 0, End: 1 << 32, Origin: "/etc/subuid:1"},
				{Start: 4294967295, End: 1 << 32, Origin: "/etc/subuid:2"},
			},
		},
		{
			name:  "count 0 of the caller is skipped with a warning",
			owner: alice,
			file:  "alice:100000:0\nalice:200000:10\n",
			want:  []idmap.Block{block(200000, 10, "/etc/subuid:2")},
			warnings: []string{
				"/etc/subuid:1: count is 0; line skipped",
			},
		},
		{
			name:  "malformed lines of the caller are skipped with a warning naming file and line",
			owner: alice,
			file: "# header\n" +
				"alice:100000\n" +
				"alice:100000:65536:1\n" +
				"alice:abc:65536\n" +
				"alice:100000:0x10\n" +
				"alice::10\n" +
				"alice:100000:\n" +
				"alice:-1:10\n" +
				"alice:100000:-5\n" +
				"alice:100000:+5\n" +
				"1001:4294967296:1\n" +
				"1001:100000:18446744073709551616\n" +
				"alice: 100000:10\n" +
				"alice\n" +
				"alice:500000:10\n",
			want: []idmap.Block{block(500000, 10, "/etc/subuid:15")},
			warnings: []string{
				"/etc/subuid:2: want owner:start:count, got 2 field(s); line skipped",
				"/etc/subuid:3: want owner:start:count, got 4 field(s); line skipped",
				`/etc/subuid:4: start "abc" is not a decimal number; line skipped`,
				`/etc/subuid:5: count "0x10" is not a decimal number; line skipped`,
				"/etc/subuid:6: start is empty; line skipped",
				`/etc/subuid:7: count "" is not a decimal number; line skipped`,
				`/etc/subuid:8: start "-1" is not a decimal number; line skipped`,
				`/etc/subuid:9: count "-5" is not a decimal number; line skipped`,
				`/etc/subuid:10: count "+5" is not a decimal number; line skipped`,
				`/etc/subuid:11: start "4294967296" is out of range (at most 4294967295); line skipped`,
				`/etc/subuid:12: count "18446744073709551616" is too large; line skipped`,
				`/etc/subuid:13: start " 100000" is not a decimal number; line skipped`,
				"/etc/subuid:14: want owner:start:count, got 1 field(s); line skipped",
			},
		},
		{
			name:  "start+count beyond 2^32 is refused",
			owner: alice,
			file:  "alice:4294967295:2\nalice:1:4294967296\nalice:4000000000:294967297\n",
			want:  nil,
			warnings: []string{
				"/etc/subuid:1: range 4294967295:2 goes past 4294967295; line skipped",
				"/etc/subuid:2: range 1:4294967296 goes past 4294967295; line skipped",
				"/etc/subuid:3: range 4000000000:294967297 goes past 4294967295; line skipped",
			},
		},
		{
			name:  "malformed lines of others are ignored silently",
			owner: alice,
			file: "bob:100000\n" +
				"bob:100000:0\n" +
				"bob:x:y:z\n" +
				"1002:4294967295:2\n" +
				"garbage\n" +
				":::\n" +
				"alice:100000:65536\n",
			want: []idmap.Block{block(100000, 65536, "/etc/subuid:7")},
		},
	}
	for _, tt := range tests {
		got, warnings, err := Parse(strings.NewReader(tt.file), "/etc/subuid", tt.owner)
		if err != nil {
			t.Errorf("%s: unexpected error %q", tt.name, err)
			continue
		}
		if !sameBlocks(got, tt.want) {
			t.Errorf("%s: blocks\n got %v\nwant %v", tt.name, got, tt.want)
		}
		if !sameStrings(warnings, tt.warnings) {
			t.Errorf("%s: warnings\n got %q\nwant %q", tt.name, warnings, tt.warnings)
		}
	}
}

// Spec §3.2: the owner field is the caller's name or "its numeric uid written
// as the owner field". newuidmap, which checks the map again, compares the
// field with the uid printed by "%lu" (shadow's find_range), so a uid written
// with leading zeros is not the caller's: taking it would only make the helper
// refuse the map later.
func TestParseOwnerWithLeadingZeros(t *testing.T) {
	for _, file := range []string{"01001:100000:65536\n", "0001001:100000:65536\n"} {
		got, warnings, err := Parse(strings.NewReader(file), "/etc/subuid", alice)
		if err != nil || len(got) != 0 || len(warnings) != 0 {
			t.Errorf("Parse(%q) = %v, %q, %v; want no ranges, no warnings, no error", file, got, warnings, err)
		}
	}
	// Uid 0 is written "0", and only so.
	root := Owner{Name: "root", ID: 0}
	for _, tt := range []struct {
		file string
		want int
	}{{"0:100000:65536\n", 1}, {"00:100000:65536\n", 0}} {
		got, _, err := Parse(strings.NewReader(tt.file), "/etc/subuid", root)
		if err != nil || len(got) != tt.want {
			t.Errorf("Parse(%q) for uid 0 = %v, %v; want %d range(s)", tt.file, got, err, tt.want)
		}
	}
}

// Spec §3.2: a malformed line is ignored (another owner's) or skipped with a
// warning (the caller's) however long it is; it must not cost the caller the
// ranges on the other lines. Lines here are longer than Parse's 64 KiB buffer.
func TestParseOverlongLine(t *testing.T) {
	long := strings.Repeat("9", 100*1024)
	tests := []struct {
		name        string
		line        string
		wantWarning bool
	}{
		{"of another owner, ignored silently", "bob:1:" + long, false},
		{"of the caller, skipped with a warning", "alice:1:" + long, true},
	}
	for _, tt := range tests {
		file := "alice:100000:65536\n" + tt.line + "\nalice:200000:10\n"
		got, warnings, err := Parse(strings.NewReader(file), "/etc/subuid", alice)
		if err != nil {
			t.Errorf("%s: unexpected error %q", tt.name, err)
			continue
		}
		want := []idmap.Block{block(100000, 65536, "/etc/subuid:1"), block(200000, 10, "/etc/subuid:3")}
		if !sameBlocks(got, want) {
			t.Errorf("%s: blocks\n got %v\nwant %v", tt.name, got, want)
		}
		switch {
		case !tt.wantWarning && len(warnings) != 0:
			t.Errorf("%s: warnings %.200q, want none", tt.name, warnings)
		case tt.wantWarning && (len(warnings) != 1 || !strings.HasPrefix(warnings[0], "/etc/subuid:2: ") || !strings.HasSuffix(warnings[0], "; line skipped")):
			t.Errorf("%s: warnings %.200q, want one \"/etc/subuid:2: ...; line skipped\"", tt.name, warnings)
		}
	}
}

func TestParseReadError(t *testing.T) {
	_, _, err := Parse(iotest.ErrReader(errors.New("input/output error")), "/etc/subuid", alice)
	if want := "/etc/subuid: input/output error"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "subuid")
	if err := os.WriteFile(path, []byte("bob:100000:65536\nalice:165536:65536\nalice:0:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, warnings, err := ReadFile(path, alice)
	if err != nil {
		t.Fatalf("ReadFile(%s): %v", path, err)
	}
	if want := []idmap.Block{block(165536, 65536, path+":2")}; !sameBlocks(got, want) {
		t.Errorf("blocks\n got %v\nwant %v", got, want)
	}
	if want := []string{path + ":3: count is 0; line skipped"}; !sameStrings(warnings, want) {
		t.Errorf("warnings\n got %q\nwant %q", warnings, want)
	}
}

func TestReadFileMissing(t *testing.T) {
	got, warnings, err := ReadFile(filepath.Join(t.TempDir(), "subuid"), alice)
	if got != nil || warnings != nil || err != nil {
		t.Errorf("missing file: got %v, %q, %v; want no ranges, no warnings, no error", got, warnings, err)
	}
}

func TestReadFileUnreadable(t *testing.T) {
	dir := t.TempDir() // a directory opens, but cannot be read as a file
	_, _, err := ReadFile(dir, alice)
	if err == nil || !strings.HasPrefix(err.Error(), dir+": ") || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("ReadFile(%s) error %v, want one that names the path and says it is a directory", dir, err)
	}
}

// Spec §3.2: from the caller's lines to the ranges that can be mapped.
func TestUsable(t *testing.T) {
	tests := []struct {
		name     string
		blocks   []idmap.Block
		kind     string
		own      uint32
		parent   []idmap.Block
		want     []idmap.Block
		warnings []string
	}{
		{
			name:   "one range",
			blocks: []idmap.Block{block(100000, 65536, "/etc/subuid:1")},
			kind:   "uid", own: 1001,
			want: []idmap.Block{block(100000, 65536, "/etc/subuid:1")},
		},
		{
			name:   "none",
			blocks: nil,
			kind:   "uid", own: 1001,
			want: nil,
		},
		{
			name:   "duplicates merged",
			blocks: []idmap.Block{block(100000, 65536, "/etc/subuid:3"), block(100000, 65536, "/etc/subuid:5")},
			kind:   "uid", own: 1001,
			want: []idmap.Block{block(100000, 65536, "/etc/subuid:3,5")},
		},
		{
			name: "overlaps merged, file order kept",
			blocks: []idmap.Block{
				block(300000, 10, "/etc/subuid:1"),
				block(100000, 65536, "/etc/subuid:2"),
				block(165000, 1000, "/etc/subuid:4"),
			},
			kind: "uid", own: 1001,
			want: []idmap.Block{
				block(300000, 10, "/etc/subuid:1"),
				{Start: 100000, End: 166000, Origin: "/etc/subuid:2,4"},
			},
		},
		{
			name:   "own id cut out of a range that holds it",
			blocks: []idmap.Block{block(1000, 10, "/etc/subuid:2")},
			kind:   "uid", own: 1001,
			want: []idmap.Block{block(1000, 1, "/etc/subuid:2"), block(1002, 8, "/etc/subuid:2")},
			warnings: []string{
				"/etc/subuid:2: range 1000-1009 holds your own uid 1001; it is left out",
			},
		},
		{
			name:   "own gid at the start of a range",
			blocks: []idmap.Block{block(1001, 10, "/etc/subgid:1")},
			kind:   "gid", own: 1001,
			want: []idmap.Block{block(1002, 9, "/etc/subgid:1")},
			warnings: []string{
				"/etc/subgid:1: range 1001-1010 holds your own gid 1001; it is left out",
			},
		},
		{
			name:   "a range of only the own id leaves nothing",
			blocks: []idmap.Block{block(1001, 1, "/etc/subuid:1")},
			kind:   "uid", own: 1001,
			want: nil,
			warnings: []string{
				"/etc/subuid:1: range 1001-1001 holds your own uid 1001; it is left out",
			},
		},
		{
			name:   "own id in two overlapping lines warns once, for the merged range",
			blocks: []idmap.Block{block(0, 2000, "/etc/subuid:1"), block(1000, 2000, "/etc/subuid:2")},
			kind:   "uid", own: 1001,
			want: []idmap.Block{block(0, 1001, "/etc/subuid:1,2"), block(1002, 1998, "/etc/subuid:1,2")},
			warnings: []string{
				"/etc/subuid:1,2: range 0-2999 holds your own uid 1001; it is left out",
			},
		},
		{
			name:   "inside the parent's map: nothing clipped",
			blocks: []idmap.Block{block(100000, 65536, "/etc/subuid:1")},
			kind:   "uid", own: 1001,
			parent: []idmap.Block{block(0, 4294967295, "")},
			want:   []idmap.Block{block(100000, 65536, "/etc/subuid:1")},
		},
		{
			name:   "clipped to the parent's map",
			blocks: []idmap.Block{block(100000, 65536, "/etc/subuid:1"), block(200000, 10, "/etc/subuid:2")},
			kind:   "uid", own: 1001,
			parent: []idmap.Block{block(0, 110000, "")},
			want:   []idmap.Block{block(100000, 10000, "/etc/subuid:1")},
			warnings: []string{
				"/etc/subuid:1: range 100000-165535 is not wholly inside this namespace's uid map; 55536 of its ids are left out",
				"/etc/subuid:2: range 200000-200009 is not wholly inside this namespace's uid map; 10 of its ids are left out",
			},
		},
		{
			name:   "clipped to a parent map with a hole",
			blocks: []idmap.Block{block(0, 100, "/etc/subgid:1")},
			kind:   "gid", own: 5000,
			parent: []idmap.Block{block(0, 10, ""), block(20, 1000, "")},
			want:   []idmap.Block{block(0, 10, "/etc/subgid:1"), block(20, 80, "/etc/subgid:1")},
			warnings: []string{
				"/etc/subgid:1: range 0-99 is not wholly inside this namespace's gid map; 10 of its ids are left out",
			},
		},
		{
			name:   "own id cut, then clipped",
			blocks: []idmap.Block{block(1000, 10, "/etc/subuid:1")},
			kind:   "uid", own: 1001,
			parent: []idmap.Block{block(0, 1005, "")},
			want:   []idmap.Block{block(1000, 1, "/etc/subuid:1"), block(1002, 3, "/etc/subuid:1")},
			warnings: []string{
				"/etc/subuid:1: range 1000-1009 holds your own uid 1001; it is left out",
				"/etc/subuid:1: range 1002-1009 is not wholly inside this namespace's uid map; 5 of its ids are left out",
			},
		},
	}
	for _, tt := range tests {
		got, warnings := Usable(tt.blocks, tt.kind, tt.own, tt.parent)
		if !sameBlocks(got, tt.want) {
			t.Errorf("%s: blocks\n got %v\nwant %v", tt.name, got, tt.want)
		}
		if !sameStrings(warnings, tt.warnings) {
			t.Errorf("%s: warnings\n got %q\nwant %q", tt.name, warnings, tt.warnings)
		}
	}
}

// From the file to the map of `unsh --map-auto` (spec §3.3): the whole path
// through both packages, with the caller's uid inside one of its ranges.
func TestParseUsablePack(t *testing.T) {
	file := "bob:100000:65536\n" +
		"alice:165536:65536\n" +
		"alice:165536:65536\n" +
		"alice:1000:2\n"
	blocks, warnings, err := Parse(strings.NewReader(file), "/etc/subuid", alice)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Parse: %v, warnings %q", err, warnings)
	}
	usable, warnings := Usable(blocks, "uid", alice.ID, nil)
	if want := []string{"/etc/subuid:4: range 1000-1001 holds your own uid 1001; it is left out"}; !sameStrings(warnings, want) {
		t.Errorf("warnings\n got %q\nwant %q", warnings, want)
	}
	m := idmap.Map{idmap.Single(0, alice.ID, "caller")}
	m = append(m, idmap.Pack(m, usable)...)
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := idmap.Map{
		idmap.Single(0, 1001, "caller"),
		{Range: idmap.Range{Inner: 1, Outer: 165536, Count: 65536}, Origin: "/etc/subuid:2,3"},
		{Range: idmap.Range{Inner: 65537, Outer: 1000, Count: 1}, Origin: "/etc/subuid:4"},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("map\n got %v\nwant %v", m, want)
	}
}

package idmap

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// entry builds one map line; the tables below read "inner outer count (origin)".
func entry(inner, outer, count uint32, origin string) Entry {
	return Entry{Range: Range{Inner: inner, Outer: outer, Count: count}, Origin: origin}
}

// rootAndSubids is the map of spec §3.3 for `unsh --map-auto` as uid 1001.
var rootAndSubids = Map{
	entry(0, 1001, 1, "caller"),
	entry(1, 100000, 65536, "/etc/subuid:1"),
}

func TestMapText(t *testing.T) {
	tests := []struct {
		m    Map
		want string
	}{
		{nil, ""},
		{Map{entry(0, 1001, 1, "caller")}, "0 1001 1\n"},
		{rootAndSubids, "0 1001 1\n1 100000 65536\n"},
		{Map{entry(0, 0, 4294967295, "")}, "0 0 4294967295\n"},
	}
	for _, tt := range tests {
		if got := tt.m.Text(); got != tt.want {
			t.Errorf("%v.Text() = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestMapArgs(t *testing.T) {
	tests := []struct {
		m    Map
		want []string
	}{
		{nil, []string{}},
		{rootAndSubids, []string{"0", "1001", "1", "1", "100000", "65536"}},
		{Map{entry(4294967294, 4294967294, 1, "")}, []string{"4294967294", "4294967294", "1"}},
	}
	for _, tt := range tests {
		if got := tt.m.Args(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v.Args() = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestRangeString(t *testing.T) {
	if got, want := (Range{Inner: 1, Outer: 100000, Count: 65536}).String(), "1 100000 65536"; got != want {
		t.Errorf("Range.String() = %q, want %q", got, want)
	}
}

func TestSortByInner(t *testing.T) {
	m := Map{
		entry(1002, 101001, 64535, "/etc/subuid:1"),
		entry(1001, 1001, 1, "caller"),
		entry(0, 100000, 1001, "/etc/subuid:1"),
		entry(0, 5, 1, "second at inner 0"), // overlapping, but order among equals is kept
	}
	m.SortByInner()
	want := Map{
		entry(0, 100000, 1001, "/etc/subuid:1"),
		entry(0, 5, 1, "second at inner 0"),
		entry(1001, 1001, 1, "caller"),
		entry(1002, 101001, 64535, "/etc/subuid:1"),
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("SortByInner:\n got %v\nwant %v", m, want)
	}
}

// Spec §3.4: the kernel's rules for a final map.
func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		m    Map
		want string // "" for a valid map
	}{
		{"root and subids", rootAndSubids, ""},
		{"single", Map{entry(0, 1001, 1, "caller")}, ""},
		{"whole id space", Map{entry(0, 0, 4294967295, "")}, ""},
		{"last id", Map{entry(4294967294, 4294967294, 1, "")}, ""},
		{"touching ranges", Map{entry(0, 100, 10, ""), entry(10, 110, 10, "")}, ""},
		{"inner of one equals outer of other", Map{entry(0, 1001, 1, "caller"), entry(1001, 0, 1, "x")}, ""},
		{"empty", nil, "the map is empty"},

		{"count 0", Map{entry(0, 1001, 1, "caller"), entry(1, 100000, 0, "/etc/subuid:3")},
			`range "1 100000 0" (/etc/subuid:3): count must be at least 1`},
		{"count 0 without origin", Map{entry(5, 5, 0, "")},
			`range "5 5 0": count must be at least 1`},
		{"inner id above 4294967294", Map{entry(4294967295, 0, 1, "--map-users")},
			`range "4294967295 0 1" (--map-users): inner ids 4294967295-4294967295 go past 4294967294`},
		{"outer id above 4294967294", Map{entry(0, 4294967295, 1, "--map-users")},
			`range "0 4294967295 1" (--map-users): outer ids 4294967295-4294967295 go past 4294967294`},
		{"inner wraps", Map{entry(4294967290, 0, 10, "--map-users")},
			`range "4294967290 0 10" (--map-users): inner ids 4294967290-4294967299 go past 4294967294`},
		{"outer wraps", Map{entry(0, 4294967295, 4294967295, "--map-users")},
			`range "0 4294967295 4294967295" (--map-users): outer ids 4294967295-8589934589 go past 4294967294`},

		{"inner overlap", Map{entry(0, 1001, 1, "caller"), entry(0, 100000, 65536, "/etc/subuid:1")},
			`range "0 100000 65536" (/etc/subuid:1) overlaps "0 1001 1" (caller) on the inner side`},
		{"inner overlap, later range first by inner id", Map{entry(10, 200, 10, "--map-users"), entry(5, 100, 6, "/etc/subuid:2")},
			`range "5 100 6" (/etc/subuid:2) overlaps "10 200 10" (--map-users) on the inner side`},
		{"inner overlap by the last id only", Map{entry(0, 100, 10, "a"), entry(9, 200, 1, "b")},
			`range "9 200 1" (b) overlaps "0 100 10" (a) on the inner side`},
		{"inner overlap between non-neighbours", Map{entry(0, 100, 100, "a"), entry(200, 300, 1, "b"), entry(50, 400, 1, "c")},
			`range "50 400 1" (c) overlaps "0 100 100" (a) on the inner side`},
		{"outer overlap", Map{entry(0, 1001, 1, "caller"), entry(1, 100000, 65536, "/etc/subuid:1"), entry(65537, 165535, 1, "/etc/subuid:2")},
			`range "65537 165535 1" (/etc/subuid:2) overlaps "1 100000 65536" (/etc/subuid:1) on the outer side`},
		{"outer overlap with the caller", Map{entry(0, 1001, 1, "caller"), entry(1, 1000, 10, "--map-users")},
			`range "1 1000 10" (--map-users) overlaps "0 1001 1" (caller) on the outer side`},
		{"duplicate line", Map{entry(1, 100000, 10, "--map-users"), entry(1, 100000, 10, "--map-users")},
			`range "1 100000 10" (--map-users) overlaps "1 100000 10" (--map-users) on the inner side`},
		{"overlap without origins", Map{entry(0, 0, 2, ""), entry(1, 10, 1, "")},
			`range "1 10 1" overlaps "0 0 2" on the inner side`},
		// A range's own rules come before the overlap with others.
		{"count 0 before overlap", Map{entry(0, 0, 10, "a"), entry(1, 1, 0, "b")},
			`range "1 1 0" (b): count must be at least 1`},
	}
	for _, tt := range tests {
		err := tt.m.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Validate(%v): unexpected error %q", tt.name, tt.m, err)
		case tt.want != "" && err == nil:
			t.Errorf("%s: Validate(%v) accepted the map, want error %q", tt.name, tt.m, tt.want)
		case tt.want != "" && err.Error() != tt.want:
			t.Errorf("%s: Validate(%v) error:\n got %q\nwant %q", tt.name, tt.m, err, tt.want)
		}
	}
}

// lines is a map of n short one-id lines ("0 400 1") that overlap nowhere,
// so that the line count is the only limit it can reach.
func lines(n int) Map {
	m := make(Map, n)
	for i := range m {
		m[i] = entry(uint32(i), 400+uint32(i), 1, fmt.Sprintf("/etc/subuid:%d", i+1))
	}
	return m
}

// Spec §3.4: at most 340 lines.
func TestValidateLineLimit(t *testing.T) {
	if n := len(lines(341).Text()); n > MaxBytes {
		t.Fatalf("test map is %d bytes, more than %d", n, MaxBytes)
	}
	if err := lines(340).Validate(); err != nil {
		t.Errorf("340 lines: unexpected error %q", err)
	}
	err := lines(341).Validate()
	if want := "341 ranges, the kernel takes at most 340"; err == nil || err.Error() != want {
		t.Errorf("341 lines: error %v, want %q", err, want)
	}
}

// longLines is a map of 170 lines of 24 bytes each ("1000000000 2000000000 1\n",
// 4080 bytes) and one last line, so that a short last line decides the size.
func longLines(last Entry) Map {
	m := make(Map, 0, 171)
	for i := range uint32(170) {
		m = append(m, entry(1000000000+i, 2000000000+i, 1, ""))
	}
	return append(m, last)
}

// Spec §3.4: the text of a map is at most 4095 bytes.
func TestValidateByteLimit(t *testing.T) {
	fits := longLines(entry(1000, 1000, 1000, "")) // "1000 1000 1000\n": 15 bytes
	if n := len(fits.Text()); n != 4095 {
		t.Fatalf("test map is %d bytes, want 4095", n)
	}
	if err := fits.Validate(); err != nil {
		t.Errorf("4095 bytes: unexpected error %q", err)
	}

	tooLong := longLines(entry(1000, 1000, 10000, "")) // "1000 1000 10000\n": 16 bytes
	if n := len(tooLong.Text()); n != 4096 {
		t.Fatalf("test map is %d bytes, want 4096", n)
	}
	err := tooLong.Validate()
	if want := "the map text is 4096 bytes, the kernel takes at most 4095"; err == nil || err.Error() != want {
		t.Errorf("4096 bytes: error %v, want %q", err, want)
	}
}

// The text a map is written with and the helper arguments say the same thing.
func TestTextAndArgsAgree(t *testing.T) {
	m := Map{entry(0, 1001, 1, "caller"), entry(1, 100000, 1000, "a"), entry(1001, 4294967294, 1, "b")}
	var fromArgs []string
	args := m.Args()
	for i := 0; i+2 < len(args); i += 3 {
		fromArgs = append(fromArgs, strings.Join(args[i:i+3], " ")+"\n")
	}
	if got := strings.Join(fromArgs, ""); got != m.Text() {
		t.Errorf("Args give %q, Text gives %q", got, m.Text())
	}
}

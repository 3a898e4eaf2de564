package subid

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/unsh/unsh/pkg/idmap"
)

// refRange is an independent reading of spec §3.2 for a line of the owner:
// exactly owner:start:count, decimal, count >= 1, start + count <= 2^32.
func refRange(line string) (start, count uint64, ok bool) {
	fields := strings.Split(line, ":")
	if len(fields) != 3 {
		return 0, 0, false
	}
	for _, f := range fields[1:] {
		if f == "" || strings.Trim(f, "0123456789") != "" {
			return 0, 0, false
		}
	}
	start, err1 := strconv.ParseUint(fields[1], 10, 64)
	count, err2 := strconv.ParseUint(fields[2], 10, 64)
	if err1 != nil || err2 != nil || count == 0 || start > 1<<32 || count > 1<<32-start {
		return 0, 0, false
	}
	return start, count, true
}

// refOwns says whether an owner field names the owner: by name, or by the
// uid written in decimal, as newuidmap compares it (no sign, no leading zero).
func refOwns(field string, o Owner) bool {
	return field != "" && (field == o.Name || field == strconv.FormatUint(uint64(o.ID), 10))
}

var (
	originRe  = regexp.MustCompile(`^/etc/subuid:([1-9][0-9]*)$`)
	warningRe = regexp.MustCompile(`^/etc/subuid:([1-9][0-9]*): .+; line skipped$`)
)

// lineNumber reads N out of "/etc/subuid:N...", or fails the test.
func lineNumber(t *testing.T, re *regexp.Regexp, text string) int {
	t.Helper()
	sub := re.FindStringSubmatch(text)
	if sub == nil {
		t.Fatalf("%q is not of the form %s", text, re)
	}
	n, err := strconv.Atoi(sub[1])
	if err != nil {
		t.Fatalf("%q: line number: %v", text, err)
	}
	return n
}

// FuzzParse feeds Parse arbitrary file content and checks each line's fate
// against spec §3.2: a blank, comment or other owner's line gives nothing; a
// line of the owner gives a block if well formed, else a warning naming
// file:line. Usable then gives disjoint ranges without the owner's own id.
func FuzzParse(f *testing.F) {
	for _, seed := range []struct {
		file string
		name string
		id   uint32
	}{
		{"alice:100000:65536\n", "alice", 1001},
		{"1001:100000:65536\n", "alice", 1001},
		{"1001abc:100000:65536\n", "alice", 1001},
		{"alice:300000:10\nbob:100000:65536\n1001:200000:65536\n", "alice", 1001},
		{"# subordinate uids\r\n\r\nbob:100000:65536\r\nalice:165536:65536\r\n", "alice", 1001},
		{"alice:100000:0\nalice:100000\nalice:1:2:3\nalice:0x10:1\nalice:-1:1\n", "alice", 1001},
		{"alice:0:4294967296\nalice:4294967295:1\nalice:4294967295:2\nalice:1:18446744073709551616\n", "alice", 1001},
		{"bob:x\n:::\ngarbage\n1002:4294967295:2\nalice:100000:65536", "alice", 1001},
		{"alice:1000:10\nalice:1005:10\nalice:1000:10\n", "alice", 1001},
		{":100000:10\n1001:200000:10\n", "", 1001},
		{"  \talice:100000:65536  \r\n", "alice", 1001},
		{"0:0:4294967296\n", "root", 0},
		{"#:100000:10\n# :200000:10\n", "#", 1001}, // a comment is never the owner's line
	} {
		f.Add(seed.file, seed.name, seed.id)
	}
	f.Fuzz(func(t *testing.T, file, name string, id uint32) {
		owner := Owner{Name: name, ID: id}
		blocks, warnings, err := Parse(strings.NewReader(file), "/etc/subuid", owner)
		if err != nil {
			if len(file) < 60*1024 { // only a line longer than Parse's buffer may fail
				t.Fatalf("Parse(%q): unexpected error %v", file, err)
			}
			return
		}

		lines := strings.Split(file, "\n")
		fate := make(map[int]string) // line number -> "block" or "warning"
		prev := 0
		for _, b := range blocks {
			n := lineNumber(t, originRe, b.Origin)
			if n <= prev || n > len(lines) {
				t.Fatalf("Parse(%q): block %v: line %d out of order or past the end", file, b, n)
			}
			prev = n
			fate[n] = "block"
			if b.Count() < 1 || b.End > 1<<32 {
				t.Fatalf("Parse(%q): block %+v is empty or goes past 2^32", file, b)
			}
		}
		prev = 0
		for _, w := range warnings {
			n := lineNumber(t, warningRe, w)
			if n <= prev || n > len(lines) || fate[n] != "" {
				t.Fatalf("Parse(%q): warning %q: line %d out of order, past the end or also a block", file, w, n)
			}
			prev = n
			fate[n] = "warning"
		}

		for i, raw := range lines {
			n := i + 1
			line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
			field, _, _ := strings.Cut(line, ":")
			if line == "" || line[0] == '#' || !refOwns(field, owner) {
				if fate[n] != "" {
					t.Fatalf("Parse(%q): line %d %q is not the owner's, yet gave a %s", file, n, raw, fate[n])
				}
				continue
			}
			start, count, ok := refRange(line)
			switch {
			case !ok && fate[n] != "warning":
				t.Fatalf("Parse(%q): malformed line %d %q of the owner gave %q, want a warning", file, n, raw, fate[n])
			case ok && fate[n] != "block":
				t.Fatalf("Parse(%q): line %d %q of the owner gave %q, want a block", file, n, raw, fate[n])
			case ok:
				want := idmap.Block{Start: start, End: start + count, Origin: "/etc/subuid:" + strconv.Itoa(n)}
				found := false
				for _, b := range blocks {
					found = found || b == want
				}
				if !found {
					t.Fatalf("Parse(%q): line %d %q: no block %+v in %v", file, n, raw, want, blocks)
				}
			}
		}

		// Usable: disjoint blocks, the owner's id left out, every other id kept.
		usable, _ := Usable(blocks, "uid", id, nil)
		var inUnion bool
		for _, b := range blocks {
			inUnion = inUnion || (b.Start <= uint64(id) && uint64(id) < b.End)
		}
		var sum uint64
		for i, b := range usable {
			sum += b.Count()
			if b.Count() < 1 || (b.Start <= uint64(id) && uint64(id) < b.End) {
				t.Fatalf("Usable(%v) = %v: %v is empty or holds the own id %d", blocks, usable, b, id)
			}
			for _, c := range usable[i+1:] {
				if b.Start < c.End && c.Start < b.End {
					t.Fatalf("Usable(%v) = %v: %v and %v overlap", blocks, usable, b, c)
				}
			}
		}
		want := unionSize(blocks)
		if inUnion {
			want--
		}
		if sum != want {
			t.Fatalf("Usable(%v) = %v holds %d ids, want %d", blocks, usable, sum, want)
		}
	})
}

// unionSize counts the distinct ids of some blocks, by a sweep.
func unionSize(blocks []idmap.Block) uint64 {
	sorted := append([]idmap.Block(nil), blocks...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Start < sorted[j].Start })
	var n, reach uint64
	for _, b := range sorted {
		start := max(b.Start, reach)
		if b.End > start {
			n += b.End - start
		}
		reach = max(reach, b.End)
	}
	return n
}

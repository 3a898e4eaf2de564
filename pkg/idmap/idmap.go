// Package idmap models the id maps of a user namespace: ranges, the mapping
// specs a user types, the builders that place subordinate ids in a map, and the
// kernel's rules for a map that may be written. It knows nothing of files,
// users, helpers or namespaces.
package idmap

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// MaxID is the largest id a map may hold: (uid_t)-1 is never a valid id.
const MaxID = 4294967294

// Limits of one /proc/PID/{uid,gid}_map write (kernel 4.15 and later).
const (
	MaxLines = 340
	MaxBytes = 4095
)

// A Range is one line of /proc/PID/uid_map: Count ids starting at Inner inside
// the namespace stand for Count ids starting at Outer in its parent.
type Range struct {
	Inner, Outer, Count uint32
}

func (r Range) String() string { return fmt.Sprintf("%d %d %d", r.Inner, r.Outer, r.Count) }

// innerEnd and outerEnd are one past the last id, in 64 bits so that they cannot wrap.
func (r Range) innerEnd() uint64 { return uint64(r.Inner) + uint64(r.Count) }
func (r Range) outerEnd() uint64 { return uint64(r.Outer) + uint64(r.Count) }

// check applies the rules that concern one range alone.
func (r Range) check() error {
	switch {
	case r.Count == 0:
		return fmt.Errorf("count must be at least 1")
	case r.innerEnd()-1 > MaxID:
		return fmt.Errorf("inner ids %d-%d go past %d", r.Inner, r.innerEnd()-1, uint64(MaxID))
	case r.outerEnd()-1 > MaxID:
		return fmt.Errorf("outer ids %d-%d go past %d", r.Outer, r.outerEnd()-1, uint64(MaxID))
	}
	return nil
}

// An Entry is a line of a map together with where it came from
// ("caller", "--map-users", "/etc/subuid:3"), for the plan a user reads.
type Entry struct {
	Range
	Origin string
}

// A Map is a whole uid or gid map.
type Map []Entry

// HoldsInner says whether id is mapped on the inner side (the namespace's own ids).
func (m Map) HoldsInner(id uint32) bool {
	for _, e := range m {
		if e.Inner <= id && uint64(id) < e.innerEnd() {
			return true
		}
	}
	return false
}

// HoldsOuter says whether id of the parent namespace is mapped.
func (m Map) HoldsOuter(id uint32) bool {
	for _, e := range m {
		if e.Outer <= id && uint64(id) < e.outerEnd() {
			return true
		}
	}
	return false
}

// Text is the map as written to /proc/PID/uid_map: one "inner outer count" line each.
func (m Map) Text() string {
	var b strings.Builder
	for _, e := range m {
		fmt.Fprintf(&b, "%d %d %d\n", e.Inner, e.Outer, e.Count)
	}
	return b.String()
}

// Args is the map as the trailing arguments of newuidmap and newgidmap.
func (m Map) Args() []string {
	args := make([]string, 0, 3*len(m))
	for _, e := range m {
		args = append(args,
			strconv.FormatUint(uint64(e.Inner), 10),
			strconv.FormatUint(uint64(e.Outer), 10),
			strconv.FormatUint(uint64(e.Count), 10))
	}
	return args
}

// SortByInner orders the lines by their first inner id, as a reader expects;
// the kernel accepts any order.
func (m Map) SortByInner() {
	sort.SliceStable(m, func(i, j int) bool { return m[i].Inner < m[j].Inner })
}

// Validate applies the kernel's rules for a map, so that a bad map is refused
// before any namespace exists. The error names the offending range.
func (m Map) Validate() error {
	if len(m) == 0 {
		return fmt.Errorf("the map is empty")
	}
	for _, e := range m {
		if err := e.check(); err != nil {
			return fmt.Errorf("range %s: %w", describe(e), err)
		}
	}
	if err := findOverlap(m, "inner", func(e Entry) (uint64, uint64) { return uint64(e.Inner), e.innerEnd() }); err != nil {
		return err
	}
	if err := findOverlap(m, "outer", func(e Entry) (uint64, uint64) { return uint64(e.Outer), e.outerEnd() }); err != nil {
		return err
	}
	if len(m) > MaxLines {
		return fmt.Errorf("%d ranges, the kernel takes at most %d", len(m), MaxLines)
	}
	if n := len(m.Text()); n > MaxBytes {
		return fmt.Errorf("the map text is %d bytes, the kernel takes at most %d", n, MaxBytes)
	}
	return nil
}

func describe(e Entry) string {
	if e.Origin == "" {
		return fmt.Sprintf("%q", e.Range.String())
	}
	return fmt.Sprintf("%q (%s)", e.Range.String(), e.Origin)
}

// findOverlap sorts the ranges by their start on one side and compares neighbours.
func findOverlap(m Map, side string, span func(Entry) (start, end uint64)) error {
	order := make([]int, len(m))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		sa, _ := span(m[order[a]])
		sb, _ := span(m[order[b]])
		return sa < sb
	})
	for k := 1; k < len(order); k++ {
		prev, cur := m[order[k-1]], m[order[k]]
		_, prevEnd := span(prev)
		curStart, _ := span(cur)
		if curStart < prevEnd {
			first, second := prev, cur
			if order[k] < order[k-1] {
				first, second = cur, prev
			}
			return fmt.Errorf("range %s overlaps %s on the %s side", describe(second), describe(first), side)
		}
	}
	return nil
}

package idmap

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// refSpec is an independent reading of spec §3.3 and §3.4 for one SPEC that
// is a range: three decimal fields, count >= 1, no id above MaxID.
func refSpec(text string) (Range, bool) {
	sep := ":"
	if !strings.Contains(text, ":") && strings.Contains(text, ",") {
		sep = ","
	}
	fields := strings.Split(text, sep)
	if len(fields) != 3 {
		return Range{}, false
	}
	var v [3]uint64
	for i, f := range fields {
		if f == "" || strings.Trim(f, "0123456789") != "" {
			return Range{}, false
		}
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil || n >= 1<<32 {
			return Range{}, false
		}
		v[i] = n
	}
	inner, outer, count := v[0], v[1], v[2]
	if sep == "," {
		inner, outer = outer, inner
	}
	if count == 0 || inner+count-1 > MaxID || outer+count-1 > MaxID {
		return Range{}, false
	}
	return Range{Inner: uint32(inner), Outer: uint32(outer), Count: uint32(count)}, true
}

func FuzzParseSpec(f *testing.F) {
	for _, seed := range []string{
		"0:100000:65536", "1:100000:65536", "100000,1,65536", "1001,0,1",
		"auto", "subids", "all", "Auto", "auto:0:1",
		"0:0:4294967295", "4294967294:4294967294:1", "4294967295:0:1", "4294967296:0:1",
		"4294967290:0:10", "1:0:4294967295", "0:0:99999999999999999999",
		"", "0:1", "a:1:1", "1:2:3:4", "-1:0:1", "+1:0:1", "0:1:0", "0x1:0:1", " 0:1:1",
		"0::1", ",0,1", "0,1:1", "0:1,1", "1_0:0:1", "١:0:1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		spec, err := ParseSpec(text)
		if kind, word := specWords[text]; word {
			if err != nil || spec != (Spec{Kind: kind}) {
				t.Fatalf("ParseSpec(%q) = %+v, %v; want kind %d", text, spec, err, kind)
			}
			return
		}
		want, ok := refSpec(text)
		if !ok {
			if err == nil {
				t.Fatalf("ParseSpec(%q) = %+v, want an error", text, spec)
			}
			if err.Error() == "" {
				t.Fatalf("ParseSpec(%q): empty error text", text)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseSpec(%q): unexpected error %q, want %v", text, err, want)
		}
		if spec != (Spec{Kind: SpecRange, Range: want}) {
			t.Fatalf("ParseSpec(%q) = %+v, want range %v", text, spec, want)
		}
		// A range that ParseSpec accepts is a valid map on its own.
		if err := (Map{{Range: spec.Range}}).Validate(); err != nil {
			t.Fatalf("ParseSpec(%q) accepted %v, which Validate refuses: %v", text, spec.Range, err)
		}
		// Both forms, written back, read the same.
		r := spec.Range
		for _, again := range []string{
			fmt.Sprintf("%d:%d:%d", r.Inner, r.Outer, r.Count),
			fmt.Sprintf("%d,%d,%d", r.Outer, r.Inner, r.Count),
		} {
			if s, err := ParseSpec(again); err != nil || s != spec {
				t.Fatalf("ParseSpec(%q) = %+v, %v; want %+v as from %q", again, s, err, spec, text)
			}
		}
	})
}

// decodeMap turns fuzz bytes into a map: a first byte that, when odd, moves
// every id up next to MaxID (so that ranges run past it), then three bytes
// per line: inner, outer, count. Small numbers make overlaps common.
func decodeMap(data []byte) Map {
	if len(data) == 0 {
		return nil
	}
	base := uint32(0)
	if data[0]&1 == 1 {
		base = MaxID - 255
	}
	var m Map
	for i, rest := 0, data[1:]; len(rest) >= 3; i, rest = i+1, rest[3:] {
		m = append(m, Entry{
			Range:  Range{Inner: base + uint32(rest[0]), Outer: base + uint32(rest[1]), Count: uint32(rest[2])},
			Origin: "line:" + strconv.Itoa(i),
		})
	}
	return m
}

func overlap(aStart, aEnd, bStart, bEnd uint64) bool { return aStart < bEnd && bStart < aEnd }

func overlapOn(side string, a, b Entry) bool {
	if side == "inner" {
		return overlap(uint64(a.Inner), a.innerEnd(), uint64(b.Inner), b.innerEnd())
	}
	return overlap(uint64(a.Outer), a.outerEnd(), uint64(b.Outer), b.outerEnd())
}

func badAlone(e Entry) bool { return e.Count == 0 || e.innerEnd() > MaxID+1 || e.outerEnd() > MaxID+1 }

var (
	badRangeErr = regexp.MustCompile(`^range "\d+ \d+ \d+" \(line:(\d+)\): `)
	overlapErr  = regexp.MustCompile(`^range "\d+ \d+ \d+" \(line:(\d+)\) overlaps "\d+ \d+ \d+" \(line:(\d+)\) on the (inner|outer) side$`)
)

// FuzzValidate compares Validate with the rules of spec §3.4 checked pair by
// pair, and checks that the error names a range that really breaks them.
func FuzzValidate(f *testing.F) {
	f.Add([]byte{0, 0, 10, 1, 1, 100, 200})                  // "0 10 1", "1 100 200"
	f.Add([]byte{0, 0, 0, 10, 5, 50, 10})                    // inner overlap
	f.Add([]byte{0, 0, 0, 10, 20, 5, 10})                    // outer overlap
	f.Add([]byte{0, 0, 0, 0})                                // count 0
	f.Add([]byte{1, 255, 0, 1})                              // the last id
	f.Add([]byte{1, 255, 0, 2})                              // past the last id
	f.Add([]byte{0, 0, 0, 10, 100, 100, 10, 50, 200, 1})     // overlap of non-neighbours
	f.Add([]byte{0, 7, 7, 1, 7, 7, 1})                       // duplicate line
	f.Add([]byte{0, 0, 0, 2, 10, 10, 2, 20, 20, 2, 5, 1, 1}) // outer overlap with the first
	f.Fuzz(func(t *testing.T, data []byte) {
		m := decodeMap(data)
		err := m.Validate()

		firstBad := -1
		for i, e := range m {
			if badAlone(e) {
				firstBad = i
				break
			}
		}
		overlaps := false
		for _, side := range []string{"inner", "outer"} {
			for i := range m {
				for j := i + 1; j < len(m); j++ {
					overlaps = overlaps || overlapOn(side, m[i], m[j])
				}
			}
		}
		tooBig := len(m) > MaxLines || len(m.Text()) > MaxBytes
		valid := len(m) > 0 && firstBad < 0 && !overlaps && !tooBig
		if valid != (err == nil) {
			t.Fatalf("Validate(%v) = %v; a valid map: %v", m, err, valid)
		}
		switch {
		case err == nil || len(m) == 0:
		case firstBad >= 0:
			sub := badRangeErr.FindStringSubmatch(err.Error())
			if sub == nil || sub[1] != strconv.Itoa(firstBad) {
				t.Fatalf("Validate(%v) = %q, want it to name line:%d, the first bad range", m, err, firstBad)
			}
		case overlaps:
			sub := overlapErr.FindStringSubmatch(err.Error())
			if sub == nil {
				t.Fatalf("Validate(%v) = %q, want an overlap error", m, err)
			}
			later, _ := strconv.Atoi(sub[1])
			earlier, _ := strconv.Atoi(sub[2])
			if earlier >= later || !overlapOn(sub[3], m[earlier], m[later]) {
				t.Fatalf("Validate(%v) = %q, which names two ranges that do not overlap in that order", m, err)
			}
		default:
			if !strings.Contains(err.Error(), "the kernel takes at most") {
				t.Fatalf("Validate(%v) = %q, want a size limit error", m, err)
			}
		}
	})
}

// decodeBlocks turns fuzz bytes into subordinate blocks as subid would give
// them: eight bytes each, start and count, count >= 1, end at most 2^32.
func decodeBlocks(data []byte) []Block {
	var blocks []Block
	for i := 0; len(data) >= 8; i, data = i+1, data[8:] {
		start := uint64(binary.LittleEndian.Uint32(data))
		count := uint64(binary.LittleEndian.Uint32(data[4:]))
		if count == 0 {
			continue
		}
		blocks = append(blocks, Block{Start: start, End: min(start+count, 1<<32), Origin: "/etc/subuid:" + strconv.Itoa(i+1)})
	}
	return blocks
}

func blockBytes(pairs ...uint32) []byte {
	var b []byte
	for _, p := range pairs {
		b = binary.LittleEndian.AppendUint32(b, p)
	}
	return b
}

// unionSize counts the distinct ids of some blocks, by a sweep.
func unionSize(blocks []Block) uint64 {
	sorted := append([]Block(nil), blocks...)
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

// FuzzPackValidate follows "auto" from subordinate blocks to a final map: merge,
// cut the caller's own id out, pack around the caller at inner 0 (--map-auto)
// or at inner N (keep-id); the map must pass Validate and hold every id.
func FuzzPackValidate(f *testing.F) {
	f.Add(uint32(1001), uint32(0), blockBytes(100000, 65536))
	f.Add(uint32(1001), uint32(1001), blockBytes(100000, 65536))
	f.Add(uint32(1001), uint32(1001), blockBytes(100000, 65536, 100000, 65536, 150000, 65536, 1000, 10))
	f.Add(uint32(1001), uint32(5), blockBytes(300000, 10, 100000, 10, 200000, 10, 300005, 10))
	f.Add(uint32(0), uint32(0), blockBytes(0, 0xFFFFFFFF))
	f.Add(uint32(4294967294), uint32(4294967294), blockBytes(4294967290, 6, 4294967295, 1))
	f.Add(uint32(1001), uint32(0xFFFFFFFF), blockBytes(1, 0xFFFFFFFF))
	f.Fuzz(func(t *testing.T, own, at uint32, data []byte) {
		own, at = min(own, MaxID), min(at, MaxID)
		blocks := decodeBlocks(data)

		merged := Merge(blocks)
		union := unionSize(blocks)
		var sum uint64
		for i, b := range merged {
			sum += b.Count()
			for _, c := range merged[i+1:] {
				if overlap(b.Start, b.End, c.Start, c.End) {
					t.Fatalf("Merge(%v) = %v: %v and %v overlap", blocks, merged, b, c)
				}
			}
		}
		if sum != union {
			t.Fatalf("Merge(%v) = %v holds %d ids, want %d", blocks, merged, sum, union)
		}

		usable := Subtract(merged, []Block{{Start: uint64(own), End: uint64(own) + 1}})
		taken := Map{Single(at, own, "caller")}
		packed := Pack(taken, usable)
		m := append(append(Map(nil), taken...), packed...)

		if err := m.Validate(); err != nil && !strings.Contains(err.Error(), "the kernel takes at most") {
			t.Fatalf("Validate of the packed map %v: %v", m, err)
		}

		// Every id of the usable blocks up to MaxID is placed, lowest inner ids
		// first, skipping only the caller's.
		var want uint64
		for _, b := range usable {
			if b.Start <= MaxID {
				want += min(b.End, MaxID+1) - b.Start
			}
		}
		want = min(want, MaxID) // the free inner ids: all but the caller's
		var got, prevEnd uint64
		for _, e := range packed {
			got += uint64(e.Count)
			if e.Count == 0 || uint64(e.Inner) < prevEnd {
				t.Fatalf("Pack(%v, %v) = %v: %v is empty or out of order", taken, usable, packed, e)
			}
			prevEnd = e.innerEnd()
			inside := false
			for _, b := range usable {
				inside = inside || (b.Origin == e.Origin && b.Start <= uint64(e.Outer) && e.outerEnd() <= b.End)
			}
			if !inside {
				t.Fatalf("Pack(%v, %v) = %v: %v lies in no usable block of its origin", taken, usable, packed, e)
			}
		}
		if got != want {
			t.Fatalf("Pack(%v, %v) placed %d ids, want %d", taken, usable, got, want)
		}
		wantEnd := want
		if want > 0 && uint64(at) < want {
			wantEnd++
		}
		if prevEnd != wantEnd {
			t.Fatalf("Pack(%v, %v) = %v ends at inner %d, want %d", taken, usable, packed, prevEnd, wantEnd)
		}
	})
}

package idmap

import (
	"fmt"
	"sort"
	"strings"
)

// A Block is a run of ids of one namespace, not yet placed in a map: a
// subordinate range, or a range of the parent's own map. End is one past the
// last id, so a Block can never wrap.
type Block struct {
	Start, End uint64
	Origin     string
}

func (b Block) String() string { return fmt.Sprintf("%d-%d", b.Start, b.End-1) }

// Count is the number of ids in the block.
func (b Block) Count() uint64 { return b.End - b.Start }

// Single is the one-line map of a single mapping (-r, -c, --map-user).
func Single(inner, outer uint32, origin string) Entry {
	return Entry{Range: Range{Inner: inner, Outer: outer, Count: 1}, Origin: origin}
}

// Identity maps every block onto itself (inner = outer), for "subids" and "all".
// Ids above MaxID are left out: they can never be mapped.
func Identity(blocks []Block) Map {
	var m Map
	for _, b := range clipToValid(blocks) {
		m = append(m, Entry{Range: Range{Inner: uint32(b.Start), Outer: uint32(b.Start), Count: uint32(b.Count())}, Origin: b.Origin})
	}
	return m
}

// Pack places the blocks, in order, one after another into the lowest inner ids
// that taken does not use; a block that meets a taken id is split around it.
// This is "auto": after "0 UID 1" the subordinate ids start at inner 1, and
// around a caller kept at inner N they fill 0..N-1, then N+1 onwards.
func Pack(taken Map, blocks []Block) Map {
	used := make([]Block, 0, len(taken))
	for _, e := range taken {
		used = append(used, Block{Start: uint64(e.Inner), End: e.innerEnd()})
	}
	free := Subtract([]Block{{Start: 0, End: MaxID + 1}}, used)
	var m Map
	for _, b := range clipToValid(blocks) {
		outer, left := b.Start, b.Count()
		for left > 0 && len(free) > 0 {
			n := min(left, free[0].Count())
			m = append(m, Entry{Range: Range{Inner: uint32(free[0].Start), Outer: uint32(outer), Count: uint32(n)}, Origin: b.Origin})
			outer, left = outer+n, left-n
			if free[0].Start += n; free[0].Count() == 0 {
				free = free[1:]
			}
		}
	}
	return m
}

// clipToValid leaves out ids above MaxID.
func clipToValid(blocks []Block) []Block {
	out, _ := Intersect(blocks, []Block{{Start: 0, End: MaxID + 1}})
	return out
}

// Merge joins blocks that share ids, keeping the order in which each merged
// block first appeared; a merged block names all its origins.
func Merge(blocks []Block) []Block {
	type group struct {
		Block
		first int
	}
	order := make([]int, len(blocks))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return blocks[order[a]].Start < blocks[order[b]].Start })
	var groups []group
	for _, i := range order {
		b := blocks[i]
		if n := len(groups); n > 0 && b.Start < groups[n-1].End {
			g := &groups[n-1]
			g.End = max(g.End, b.End)
			g.Origin = joinOrigins(g.Origin, b.Origin)
			g.first = min(g.first, i)
			continue
		}
		groups = append(groups, group{Block: b, first: i})
	}
	sort.SliceStable(groups, func(a, b int) bool { return groups[a].first < groups[b].first })
	out := make([]Block, len(groups))
	for i, g := range groups {
		out[i] = g.Block
	}
	return out
}

// joinOrigins turns "/etc/subuid:3" and "/etc/subuid:5" into "/etc/subuid:3,5".
func joinOrigins(a, b string) string {
	if a == "" || a == b {
		return b
	}
	if i := strings.LastIndexByte(a, ':'); i >= 0 && strings.HasPrefix(b, a[:i+1]) {
		return a + "," + b[i+1:]
	}
	return a + ", " + b
}

// Subtract removes the ids of cut from the blocks, splitting where needed.
// The remaining blocks keep their order and origins.
func Subtract(blocks, cut []Block) []Block {
	out := blocks
	for _, c := range cut {
		var next []Block
		for _, b := range out {
			if c.End <= b.Start || b.End <= c.Start {
				next = append(next, b)
				continue
			}
			if b.Start < c.Start {
				next = append(next, Block{Start: b.Start, End: c.Start, Origin: b.Origin})
			}
			if c.End < b.End {
				next = append(next, Block{Start: c.End, End: b.End, Origin: b.Origin})
			}
		}
		out = next
	}
	return out
}

// Intersect keeps the ids of the blocks that lie inside allowed, and reports
// whether anything was cut away.
func Intersect(blocks, allowed []Block) (out []Block, cut bool) {
	for _, b := range blocks {
		kept := uint64(0)
		for _, a := range allowed {
			start, end := max(a.Start, b.Start), min(a.End, b.End)
			if start < end {
				out = append(out, Block{Start: start, End: end, Origin: b.Origin})
				kept += end - start
			}
		}
		if kept != b.Count() {
			cut = true
		}
	}
	return out, cut
}

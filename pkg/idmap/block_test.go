package idmap

import (
	"reflect"
	"testing"
)

// block builds a Block from its first id and count, as /etc/subuid writes it.
func block(start, count uint64, origin string) Block {
	return Block{Start: start, End: start + count, Origin: origin}
}

// sameBlocks treats nil and empty alike: "no blocks" either way.
func sameBlocks(a, b []Block) bool {
	return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b)
}

// sameMap treats nil and empty alike.
func sameMap(a, b Map) bool {
	return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b)
}

func TestBlockStringAndCount(t *testing.T) {
	b := block(100000, 65536, "/etc/subuid:1")
	if got, want := b.String(), "100000-165535"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := b.Count(), uint64(65536); got != want {
		t.Errorf("Count() = %d, want %d", got, want)
	}
}

func TestSingle(t *testing.T) {
	if got, want := Single(0, 1001, "caller"), entry(0, 1001, 1, "caller"); got != want {
		t.Errorf("Single(0, 1001, caller) = %+v, want %+v", got, want)
	}
}

// Spec §3.3: "auto" packs the subordinate ranges into the lowest inner ids not
// already taken, splitting a range around a taken id.
func TestPack(t *testing.T) {
	subuid := block(100000, 65536, "/etc/subuid:1")
	tests := []struct {
		name   string
		taken  Map
		blocks []Block
		want   Map
	}{
		{
			name:   "caller is root: --map-auto",
			taken:  Map{entry(0, 1001, 1, "caller")},
			blocks: []Block{subuid},
			want:   Map{entry(1, 100000, 65536, "/etc/subuid:1")},
		},
		{
			name:   "nothing taken",
			taken:  nil,
			blocks: []Block{subuid},
			want:   Map{entry(0, 100000, 65536, "/etc/subuid:1")},
		},
		{
			name:   "keep-id: caller at inner 1001",
			taken:  Map{entry(1001, 1001, 1, "caller")},
			blocks: []Block{subuid},
			want: Map{
				entry(0, 100000, 1001, "/etc/subuid:1"),
				entry(1002, 101001, 64535, "/etc/subuid:1"),
			},
		},
		{
			name:   "keep-id: a block that ends exactly before the caller is not split",
			taken:  Map{entry(1001, 1001, 1, "caller")},
			blocks: []Block{block(100000, 1001, "/etc/subuid:1"), block(200000, 5, "/etc/subuid:2")},
			want: Map{
				entry(0, 100000, 1001, "/etc/subuid:1"),
				entry(1002, 200000, 5, "/etc/subuid:2"),
			},
		},
		{
			name:  "several blocks in their given order, not sorted",
			taken: Map{entry(0, 1001, 1, "caller")},
			blocks: []Block{
				block(300000, 10, "/etc/subuid:2"),
				block(100000, 65536, "/etc/subuid:5"),
				block(200000, 1, "/etc/subuid:7"),
			},
			want: Map{
				entry(1, 300000, 10, "/etc/subuid:2"),
				entry(11, 100000, 65536, "/etc/subuid:5"),
				entry(65547, 200000, 1, "/etc/subuid:7"),
			},
		},
		{
			name: "several taken ranges, free ids used lowest first",
			taken: Map{
				entry(5, 5000, 5, "--map-users"),
				entry(0, 1001, 1, "caller"),
				entry(12, 6000, 1, "--map-users"),
			},
			blocks: []Block{block(100000, 20, "/etc/subuid:1")},
			want: Map{
				entry(1, 100000, 4, "/etc/subuid:1"),
				entry(10, 100004, 2, "/etc/subuid:1"),
				entry(13, 100006, 14, "/etc/subuid:1"),
			},
		},
		{
			name:   "ids above 4294967294 are left out",
			taken:  Map{entry(0, 1001, 1, "caller")},
			blocks: []Block{block(4294967290, 6, "/etc/subuid:1")},
			want:   Map{entry(1, 4294967290, 5, "/etc/subuid:1")},
		},
		{
			name:   "a block wholly above 4294967294 gives nothing",
			taken:  Map{entry(0, 1001, 1, "caller")},
			blocks: []Block{block(4294967295, 1, "/etc/subuid:1")},
			want:   nil,
		},
		{
			name:   "no blocks",
			taken:  Map{entry(0, 1001, 1, "caller")},
			blocks: nil,
			want:   nil,
		},
		{
			name:   "what does not fit in the free inner ids is dropped",
			taken:  Map{entry(0, 0, 4294967290, "all")},
			blocks: []Block{block(100000, 10, "/etc/subuid:1")},
			want:   Map{entry(4294967290, 100000, 5, "/etc/subuid:1")},
		},
	}
	for _, tt := range tests {
		got := Pack(tt.taken, tt.blocks)
		if !sameMap(got, tt.want) {
			t.Errorf("%s: Pack(%v, %v):\n got %v\nwant %v", tt.name, tt.taken, tt.blocks, got, tt.want)
		}
	}
}

// The whole of spec §3.3's example: the caller made root, then "auto".
func TestPackMapAutoExample(t *testing.T) {
	m := Map{Single(0, 1001, "caller")}
	m = append(m, Pack(m, []Block{block(100000, 65536, "/etc/subuid:1")})...)
	m.SortByInner()
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if got, want := m.Text(), "0 1001 1\n1 100000 65536\n"; got != want {
		t.Errorf("map text %q, want %q", got, want)
	}
}

// Spec §3.3: "subids" and "all" map each range onto itself.
func TestIdentity(t *testing.T) {
	tests := []struct {
		name   string
		blocks []Block
		want   Map
	}{
		{"none", nil, nil},
		{"subids", []Block{block(100000, 65536, "/etc/subuid:1"), block(300000, 10, "/etc/subuid:4")},
			Map{entry(100000, 100000, 65536, "/etc/subuid:1"), entry(300000, 300000, 10, "/etc/subuid:4")}},
		{"the whole parent map", []Block{block(0, 4294967295, "")},
			Map{entry(0, 0, 4294967295, "")}},
		{"id 4294967295 is left out", []Block{block(0, 1<<32, "/proc/self/uid_map:1")},
			Map{entry(0, 0, 4294967295, "/proc/self/uid_map:1")}},
		{"a block of only 4294967295 gives nothing", []Block{block(4294967295, 1, "x")}, nil},
	}
	for _, tt := range tests {
		if got := Identity(tt.blocks); !sameMap(got, tt.want) {
			t.Errorf("%s: Identity(%v):\n got %v\nwant %v", tt.name, tt.blocks, got, tt.want)
		}
	}
}

// Spec §3.2: duplicate and overlapping ranges are merged.
func TestMerge(t *testing.T) {
	tests := []struct {
		name   string
		blocks []Block
		want   []Block
	}{
		{"none", nil, nil},
		{"one", []Block{block(100000, 65536, "/etc/subuid:1")}, []Block{block(100000, 65536, "/etc/subuid:1")}},
		{
			name:   "duplicate lines",
			blocks: []Block{block(100000, 65536, "/etc/subuid:3"), block(100000, 65536, "/etc/subuid:5")},
			want:   []Block{block(100000, 65536, "/etc/subuid:3,5")},
		},
		{
			name:   "overlap extends the range",
			blocks: []Block{block(100000, 65536, "/etc/subuid:3"), block(150000, 65536, "/etc/subuid:5")},
			want:   []Block{{Start: 100000, End: 215536, Origin: "/etc/subuid:3,5"}},
		},
		{
			name:   "a range inside another",
			blocks: []Block{block(100000, 65536, "/etc/subuid:3"), block(110000, 10, "/etc/subuid:4")},
			want:   []Block{block(100000, 65536, "/etc/subuid:3,4")},
		},
		{
			name:   "touching ranges stay apart",
			blocks: []Block{block(100000, 100, "/etc/subuid:1"), block(100100, 100, "/etc/subuid:2")},
			want:   []Block{block(100000, 100, "/etc/subuid:1"), block(100100, 100, "/etc/subuid:2")},
		},
		{
			name:   "separate ranges keep file order, not numeric order",
			blocks: []Block{block(300000, 10, "/etc/subuid:1"), block(100000, 10, "/etc/subuid:2"), block(200000, 10, "/etc/subuid:3")},
			want:   []Block{block(300000, 10, "/etc/subuid:1"), block(100000, 10, "/etc/subuid:2"), block(200000, 10, "/etc/subuid:3")},
		},
		{
			name: "a merged range takes the place of its first line",
			blocks: []Block{
				block(500000, 10, "/etc/subuid:1"),
				block(300000, 10, "/etc/subuid:2"),
				block(100000, 10, "/etc/subuid:3"),
				block(300005, 10, "/etc/subuid:4"),
			},
			want: []Block{
				block(500000, 10, "/etc/subuid:1"),
				{Start: 300000, End: 300015, Origin: "/etc/subuid:2,4"},
				block(100000, 10, "/etc/subuid:3"),
			},
		},
		{
			name: "three lines chained",
			blocks: []Block{
				block(100000, 10, "/etc/subuid:2"),
				block(100005, 10, "/etc/subuid:6"),
				block(100012, 10, "/etc/subuid:9"),
			},
			want: []Block{{Start: 100000, End: 100022, Origin: "/etc/subuid:2,6,9"}},
		},
		{
			name:   "same line twice names it once",
			blocks: []Block{block(100000, 10, "/etc/subuid:2"), block(100000, 10, "/etc/subuid:2")},
			want:   []Block{block(100000, 10, "/etc/subuid:2")},
		},
		{
			name:   "origins in different files",
			blocks: []Block{block(100000, 10, "/etc/subuid:2"), block(100005, 10, "/run/subuid:1")},
			want:   []Block{{Start: 100000, End: 100015, Origin: "/etc/subuid:2, /run/subuid:1"}},
		},
		{
			name:   "a file whose name is a prefix of another's",
			blocks: []Block{block(100000, 10, "/etc/subuid:2"), block(100005, 10, "/etc/subuid2:1")},
			want:   []Block{{Start: 100000, End: 100015, Origin: "/etc/subuid:2, /etc/subuid2:1"}},
		},
	}
	for _, tt := range tests {
		got := Merge(tt.blocks)
		if !sameBlocks(got, tt.want) {
			t.Errorf("%s: Merge(%v):\n got %+v\nwant %+v", tt.name, tt.blocks, got, tt.want)
		}
	}
}

// A merged range stands where the earliest of its lines stood, even when a
// later line of it starts lower.
func TestMergeOrderOfFirstAppearance(t *testing.T) {
	in := []Block{
		block(300005, 10, "/etc/subuid:1"),
		block(100000, 10, "/etc/subuid:2"),
		block(300000, 10, "/etc/subuid:3"),
	}
	got := Merge(in)
	want := []Block{{Start: 300000, End: 300015}, {Start: 100000, End: 100010}}
	if len(got) != len(want) {
		t.Fatalf("Merge(%v) = %v, want ranges %v", in, got, want)
	}
	for i := range want {
		if got[i].Start != want[i].Start || got[i].End != want[i].End {
			t.Fatalf("Merge(%v) = %v, want ranges %v in that order", in, got, want)
		}
	}
	// Which of "3,1" and "1,3" is not the point here; both lines must be named.
	if o := got[0].Origin; o != "/etc/subuid:1,3" && o != "/etc/subuid:3,1" {
		t.Errorf("merged origin %q, want both /etc/subuid:1 and /etc/subuid:3", o)
	}
	if o := got[1].Origin; o != "/etc/subuid:2" {
		t.Errorf("origin %q, want /etc/subuid:2", o)
	}
}

func TestMergeDoesNotChangeItsInput(t *testing.T) {
	in := []Block{block(300000, 10, "/etc/subuid:1"), block(100000, 10, "/etc/subuid:2"), block(300005, 10, "/etc/subuid:3")}
	saved := append([]Block(nil), in...)
	Merge(in)
	if !reflect.DeepEqual(in, saved) {
		t.Errorf("Merge changed its input:\n got %v\nwant %v", in, saved)
	}
}

func TestSubtract(t *testing.T) {
	sub := block(100000, 65536, "/etc/subuid:1")
	tests := []struct {
		name        string
		blocks, cut []Block
		want        []Block
	}{
		{"nothing cut", []Block{sub}, nil, []Block{sub}},
		{"cut elsewhere", []Block{sub}, []Block{block(1001, 1, "")}, []Block{sub}},
		{"cut touching the end", []Block{sub}, []Block{block(165536, 1, "")}, []Block{sub}},
		{"cut in the middle splits", []Block{sub}, []Block{block(101001, 1, "")},
			[]Block{block(100000, 1001, "/etc/subuid:1"), block(101002, 64534, "/etc/subuid:1")}},
		{"cut the first id", []Block{sub}, []Block{block(100000, 1, "")},
			[]Block{block(100001, 65535, "/etc/subuid:1")}},
		{"cut the last id", []Block{sub}, []Block{block(165535, 1, "")},
			[]Block{block(100000, 65535, "/etc/subuid:1")}},
		{"cut all but the last id", []Block{sub}, []Block{block(100000, 65535, "")},
			[]Block{block(165535, 1, "/etc/subuid:1")}},
		{"cut all but the first id", []Block{sub}, []Block{block(100001, 65535, "")},
			[]Block{block(100000, 1, "/etc/subuid:1")}},
		{"cut all", []Block{sub}, []Block{block(0, 1<<32, "")}, nil},
		{"cut across two blocks", []Block{block(0, 10, "a"), block(20, 10, "b")}, []Block{block(5, 20, "")},
			[]Block{block(0, 5, "a"), block(25, 5, "b")}},
		{"several cuts, order kept", []Block{block(0, 100, "a"), block(200, 10, "b")}, []Block{block(50, 10, ""), block(10, 10, "")},
			[]Block{block(0, 10, "a"), block(20, 30, "a"), block(60, 40, "a"), block(200, 10, "b")}},
	}
	for _, tt := range tests {
		got := Subtract(tt.blocks, tt.cut)
		if !sameBlocks(got, tt.want) {
			t.Errorf("%s: Subtract(%v, %v):\n got %v\nwant %v", tt.name, tt.blocks, tt.cut, got, tt.want)
		}
	}
}

func TestIntersect(t *testing.T) {
	sub := block(100000, 65536, "/etc/subuid:1")
	tests := []struct {
		name            string
		blocks, allowed []Block
		want            []Block
		wantCut         bool
	}{
		{"wholly inside", []Block{sub}, []Block{block(0, 1<<32, "")}, []Block{sub}, false},
		{"exactly the allowed block", []Block{sub}, []Block{block(100000, 65536, "")}, []Block{sub}, false},
		{"tail outside", []Block{sub}, []Block{block(0, 110000, "")},
			[]Block{block(100000, 10000, "/etc/subuid:1")}, true},
		{"wholly outside", []Block{sub}, []Block{block(0, 65536, "")}, nil, true},
		{"nothing allowed", []Block{sub}, nil, nil, true},
		{"no blocks", nil, []Block{block(0, 10, "")}, nil, false},
		{"split by a hole in the allowed ids", []Block{sub}, []Block{block(0, 100010, ""), block(100020, 100000, "")},
			[]Block{block(100000, 10, "/etc/subuid:1"), block(100020, 65516, "/etc/subuid:1")}, true},
		{"allowed pieces that cover the block", []Block{block(10, 10, "a")}, []Block{block(0, 15, ""), block(15, 100, "")},
			[]Block{block(10, 5, "a"), block(15, 5, "a")}, false},
	}
	for _, tt := range tests {
		got, cut := Intersect(tt.blocks, tt.allowed)
		if !sameBlocks(got, tt.want) || cut != tt.wantCut {
			t.Errorf("%s: Intersect(%v, %v):\n got %v, cut %v\nwant %v, cut %v", tt.name, tt.blocks, tt.allowed, got, cut, tt.want, tt.wantCut)
		}
	}
}

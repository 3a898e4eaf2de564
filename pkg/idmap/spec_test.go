package idmap

import "testing"

// Spec §3.3: the forms a --map-users / --map-groups SPEC may take.
func TestParseSpec(t *testing.T) {
	tests := []struct {
		text string
		want Spec
	}{
		// INNER:OUTER:COUNT, the order of uid_map.
		{"0:100000:65536", Spec{Kind: SpecRange, Range: Range{Inner: 0, Outer: 100000, Count: 65536}}},
		{"1:100000:65536", Spec{Kind: SpecRange, Range: Range{Inner: 1, Outer: 100000, Count: 65536}}},
		{"1001:1001:1", Spec{Kind: SpecRange, Range: Range{Inner: 1001, Outer: 1001, Count: 1}}},
		// OUTER,INNER,COUNT (util-linux 2.38): inner and outer swap places.
		{"100000,1,65536", Spec{Kind: SpecRange, Range: Range{Inner: 1, Outer: 100000, Count: 65536}}},
		{"1001,0,1", Spec{Kind: SpecRange, Range: Range{Inner: 0, Outer: 1001, Count: 1}}},
		// The whole id space, as in the initial user namespace, is one valid range.
		{"0:0:4294967295", Spec{Kind: SpecRange, Range: Range{Inner: 0, Outer: 0, Count: 4294967295}}},
		// The last valid id on either side.
		{"4294967294:4294967294:1", Spec{Kind: SpecRange, Range: Range{Inner: 4294967294, Outer: 4294967294, Count: 1}}},
		{"4294967294,0,1", Spec{Kind: SpecRange, Range: Range{Inner: 0, Outer: 4294967294, Count: 1}}},
		// Leading zeros are still decimal.
		{"007:0100000:010", Spec{Kind: SpecRange, Range: Range{Inner: 7, Outer: 100000, Count: 10}}},
		// The words.
		{"auto", Spec{Kind: SpecAuto}},
		{"subids", Spec{Kind: SpecSubids}},
		{"all", Spec{Kind: SpecAll}},
	}
	for _, tt := range tests {
		got, err := ParseSpec(tt.text)
		if err != nil {
			t.Errorf("ParseSpec(%q): unexpected error %q", tt.text, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseSpec(%q) = %+v, want %+v", tt.text, got, tt.want)
		}
	}
}

// Spec §3.4: bad SPEC text is refused; the reason does not repeat the text,
// the caller puts it into "invalid mapping '...' for --map-users: ...".
func TestParseSpecRefused(t *testing.T) {
	const wantForms = "want INNER:OUTER:COUNT, OUTER,INNER,COUNT, auto, subids or all, "
	tests := []struct {
		text string
		want string
	}{
		{"", "it is empty"},
		{"0:1", wantForms + "got 2 field(s)"},
		{"1:2:3:4", wantForms + "got 4 field(s)"},
		{"0,1", wantForms + "got 2 field(s)"},
		{"1,2,3,4", wantForms + "got 4 field(s)"},
		{"1000", wantForms + "got 1 field(s)"},
		// Mixed separators are read as the colon form.
		{"0:1,1", wantForms + "got 2 field(s)"},
		{"0,1:1", wantForms + "got 2 field(s)"},
		// The words are exact.
		{"Auto", wantForms + "got 1 field(s)"},
		{" auto", wantForms + "got 1 field(s)"},
		{"auto:0:1", `inner "auto" is not a decimal number`},
		// Each field names itself, in the order of the form used.
		{"a:1:1", `inner "a" is not a decimal number`},
		{"1:b:1", `outer "b" is not a decimal number`},
		{"1:1:c", `count "c" is not a decimal number`},
		{"a,1,1", `outer "a" is not a decimal number`},
		{"1,b,1", `inner "b" is not a decimal number`},
		{"-1:0:1", `inner "-1" is not a decimal number`},
		{"+1:0:1", `inner "+1" is not a decimal number`},
		{"0:1:0x10", `count "0x10" is not a decimal number`},
		{" 0:1:1", `inner " 0" is not a decimal number`},
		{"0:1:1 ", `count "1 " is not a decimal number`},
		{"0::1", "outer is empty"},
		{"0:1:", "count is empty"},
		{",0,1", "outer is empty"},
		{"0:1:0", "count must be at least 1"},
		{"0,1,0", "count must be at least 1"},
		// Ids beyond 4294967294.
		{"4294967295:0:1", "inner ids 4294967295-4294967295 go past 4294967294"},
		{"0:4294967295:1", "outer ids 4294967295-4294967295 go past 4294967294"},
		{"4294967295,0,1", "outer ids 4294967295-4294967295 go past 4294967294"},
		{"4294967296:0:1", `inner "4294967296" is out of range (at most 4294967295)`},
		{"0:0:4294967296", `count "4294967296" is out of range (at most 4294967295)`},
		{"0:0:99999999999999999999", `count "99999999999999999999" is out of range (at most 4294967295)`},
		// Ranges that wrap or run past the last id.
		{"4294967290:0:10", "inner ids 4294967290-4294967299 go past 4294967294"},
		{"0:4294967290:10", "outer ids 4294967290-4294967299 go past 4294967294"},
		{"1:0:4294967295", "inner ids 1-4294967295 go past 4294967294"},
		{"4294967295:4294967295:4294967295", "inner ids 4294967295-8589934589 go past 4294967294"},
	}
	for _, tt := range tests {
		got, err := ParseSpec(tt.text)
		if err == nil {
			t.Errorf("ParseSpec(%q) = %+v, want error %q", tt.text, got, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseSpec(%q) error:\n got %q\nwant %q", tt.text, err, tt.want)
		}
	}
}

func TestParseID(t *testing.T) {
	tests := []struct {
		text    string
		want    uint32
		wantErr string
	}{
		{"0", 0, ""},
		{"1001", 1001, ""},
		{"4294967295", 4294967295, ""},
		{"0001001", 1001, ""},
		{"", 0, "is empty"},
		{"4294967296", 0, `"4294967296" is out of range (at most 4294967295)`},
		{"1001abc", 0, `"1001abc" is not a decimal number`},
		{"-0", 0, `"-0" is not a decimal number`},
		{"1_000", 0, `"1_000" is not a decimal number`},
		{"１", 0, `"１" is not a decimal number`}, // a full-width digit is not decimal
	}
	for _, tt := range tests {
		got, err := ParseID(tt.text)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseID(%q): unexpected error %q", tt.text, err)
		case tt.wantErr != "" && err == nil:
			t.Errorf("ParseID(%q) = %d, want error %q", tt.text, got, tt.wantErr)
		case tt.wantErr != "" && err.Error() != tt.wantErr:
			t.Errorf("ParseID(%q) error %q, want %q", tt.text, err, tt.wantErr)
		case tt.wantErr == "" && got != tt.want:
			t.Errorf("ParseID(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
}

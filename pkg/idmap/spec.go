package idmap

import (
	"fmt"
	"strconv"
	"strings"
)

// SpecKind says what a --map-users or --map-groups SPEC asks for.
type SpecKind int

const (
	// SpecRange is one explicit range.
	SpecRange SpecKind = iota
	// SpecAuto packs every subordinate range into the lowest free inner ids.
	SpecAuto
	// SpecSubids maps every subordinate range onto itself.
	SpecSubids
	// SpecAll maps every range of the parent's own map onto itself.
	SpecAll
)

var specWords = map[string]SpecKind{"auto": SpecAuto, "subids": SpecSubids, "all": SpecAll}

// A Spec is a parsed SPEC; Range is set only for SpecRange.
type Spec struct {
	Kind  SpecKind
	Range Range
}

// ParseSpec reads INNER:OUTER:COUNT (the order of uid_map), OUTER,INNER,COUNT
// (util-linux 2.38) or one of the words auto, subids and all. The error says
// why the text is refused, without repeating the text.
func ParseSpec(text string) (Spec, error) {
	if kind, ok := specWords[text]; ok {
		return Spec{Kind: kind}, nil
	}
	if text == "" {
		return Spec{}, fmt.Errorf("it is empty")
	}
	sep, names := ":", [3]string{"inner", "outer", "count"}
	if strings.Contains(text, ",") && !strings.Contains(text, ":") {
		sep, names = ",", [3]string{"outer", "inner", "count"}
	}
	fields := strings.Split(text, sep)
	if len(fields) != 3 {
		return Spec{}, fmt.Errorf("want INNER:OUTER:COUNT, OUTER,INNER,COUNT, auto, subids or all, got %d field(s)", len(fields))
	}
	var values [3]uint32
	for i, f := range fields {
		v, err := ParseID(f)
		if err != nil {
			return Spec{}, fmt.Errorf("%s %w", names[i], err)
		}
		values[i] = v
	}
	r := Range{Inner: values[0], Outer: values[1], Count: values[2]}
	if sep == "," {
		r.Inner, r.Outer = values[1], values[0]
	}
	if err := r.check(); err != nil {
		return Spec{}, err
	}
	return Spec{Kind: SpecRange, Range: r}, nil
}

// ParseID reads a decimal id or count: digits only, no sign, no space, below 2^32.
// Its error reads well after the name of the field ("count ...").
func ParseID(text string) (uint32, error) {
	if text == "" {
		return 0, fmt.Errorf("is empty")
	}
	for i := 0; i < len(text); i++ {
		if text[i] < '0' || text[i] > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", text)
		}
	}
	v, err := strconv.ParseUint(text, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range (at most 4294967295)", text)
	}
	return uint32(v), nil
}

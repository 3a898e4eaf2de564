// Package subid reads subordinate-id sources: the /etc/subuid and /etc/subgid
// files of shadow-utils. It finds the ranges of one owner and turns them into
// the blocks that may be mapped. It knows nothing of namespaces or helpers;
// the parent namespace's ids come in as plain blocks.
package subid

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/unsh/unsh/pkg/idmap"
)

// An Owner is the user whose ranges are looked up. A line matches by Name, or
// by the decimal ID written as the owner field, exactly as newuidmap prints
// it (no sign, no leading zero). Name is "" for a uid that the passwd
// database does not know.
type Owner struct {
	Name string
	ID   uint32
}

// matches compares without allocating: most lines of a large file are other owners'.
func (o Owner) matches(field []byte, idText string) bool {
	return len(field) > 0 && (string(field) == o.Name || string(field) == idText)
}

// maxLine bounds one line of a source; shadow's own limit is far lower. A
// longer line is malformed, like any other.
const maxLine = 64 * 1024

// Parse reads a subid file and returns every range of the owner, in file order,
// each with its origin "file:line". A malformed line of another owner is
// ignored; one of the owner's is skipped with a warning "file:line: reason".
func Parse(r io.Reader, file string, owner Owner) (blocks []idmap.Block, warnings []string, err error) {
	idText := strconv.FormatUint(uint64(owner.ID), 10)
	br := bufio.NewReaderSize(r, maxLine)
	for n := 1; ; n++ {
		line, tooLong, err := readLine(br)
		if err == io.EOF && line == nil {
			break
		}
		if err != nil && err != io.EOF {
			return nil, warnings, fmt.Errorf("%s: %w", file, err)
		}
		raw := bytes.TrimSpace(line) // also drops the \r of CRLF
		if len(raw) == 0 || raw[0] == '#' {
			continue
		}
		field, _, _ := bytes.Cut(raw, []byte(":"))
		if !owner.matches(field, idText) {
			continue
		}
		var b idmap.Block
		if tooLong {
			err = fmt.Errorf("line longer than %d bytes", maxLine)
		} else {
			b, err = parseRange(string(raw))
		}
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s:%d: %v; line skipped", file, n, err))
			continue
		}
		b.Origin = file + ":" + strconv.Itoa(n)
		blocks = append(blocks, b)
	}
	return blocks, warnings, nil
}

// readLine returns the next line without its newline; of a line longer than
// the reader's buffer it returns the start and skips the rest. line is nil
// only at the end of the input.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	line, err = br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		line = append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			_, err = br.ReadSlice('\n')
		}
		tooLong = true
	}
	if err == io.EOF && len(line) == 0 {
		return nil, false, io.EOF
	}
	return bytes.TrimSuffix(line, []byte("\n")), tooLong, err
}

func parseRange(line string) (idmap.Block, error) {
	fields := strings.Split(line, ":")
	if len(fields) != 3 {
		return idmap.Block{}, fmt.Errorf("want owner:start:count, got %d field(s)", len(fields))
	}
	start, err := idmap.ParseID(fields[1])
	if err != nil {
		return idmap.Block{}, fmt.Errorf("start %w", err)
	}
	count, err := strconv.ParseUint(fields[2], 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return idmap.Block{}, fmt.Errorf("count %q is too large", fields[2])
	case err != nil:
		return idmap.Block{}, fmt.Errorf("count %q is not a decimal number", fields[2])
	case count == 0:
		return idmap.Block{}, fmt.Errorf("count is 0")
	case count > 1<<32-uint64(start): // not start+count, which can wrap
		return idmap.Block{}, fmt.Errorf("range %d:%d goes past 4294967295", start, count)
	}
	return idmap.Block{Start: uint64(start), End: uint64(start) + count}, nil
}

// ReadFile is Parse on a file; a missing file holds no ranges.
func ReadFile(path string, owner Owner) ([]idmap.Block, []string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return Parse(f, path, owner)
}

// Usable turns an owner's ranges into those that can be mapped: duplicates and
// overlaps merged; the owner's own id cut out (newuidmap refuses a map that
// names it twice); ids outside the namespace unsh runs in clipped away, when
// parent is not nil. kind is "uid" or "gid", for the warnings.
func Usable(blocks []idmap.Block, kind string, own uint32, parent []idmap.Block) (usable []idmap.Block, warnings []string) {
	merged := idmap.Merge(blocks)
	self := []idmap.Block{{Start: uint64(own), End: uint64(own) + 1}}
	for _, b := range merged {
		if b.Start <= uint64(own) && uint64(own) < b.End {
			warnings = append(warnings, fmt.Sprintf("%s: range %s holds your own %s %d; it is left out", b.Origin, b, kind, own))
		}
	}
	usable = idmap.Subtract(merged, self)
	if parent != nil {
		for _, b := range usable {
			if in, cut := idmap.Intersect([]idmap.Block{b}, parent); cut {
				warnings = append(warnings, fmt.Sprintf("%s: range %s is not wholly inside this namespace's %s map; %d of its ids are left out",
					b.Origin, b, kind, b.Count()-total(in)))
			}
		}
		usable, _ = idmap.Intersect(usable, parent)
	}
	return usable, warnings
}

func total(blocks []idmap.Block) (n uint64) {
	for _, b := range blocks {
		n += b.Count()
	}
	return n
}

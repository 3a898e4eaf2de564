package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/unsh/unsh/pkg/idmap"
	"github.com/unsh/unsh/pkg/newuidmap"
)

// writeMaps writes the maps of the stage pid as the plan says (spec §3.5):
// setgroups first when it is denied, then both maps at the same time, each
// in one write, by unsh or by its helper.
func writeMaps(pid int, p Plan) error {
	proc := "/proc/" + strconv.Itoa(pid) + "/"
	if p.WriteSetgroups {
		if err := writeOnce(proc+"setgroups", "deny"); err != nil {
			return err
		}
	}
	// The helpers first, so that they run while unsh writes the rest.
	var runs []*newuidmap.Run
	var errs []error
	sides := []struct {
		side Side
		file string
	}{{p.UID, "uid_map"}, {p.GID, "gid_map"}}
	for _, s := range sides {
		if s.side.Method == MethodHelper {
			run, err := newuidmap.Start(s.side.Helper, strconv.Itoa(pid), s.side.Map)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			runs = append(runs, run)
		}
	}
	for _, s := range sides {
		if s.side.Method == MethodWrite {
			errs = append(errs, writeMap(proc+s.file, s.side.Map))
		}
	}
	for _, run := range runs {
		errs = append(errs, run.Wait())
	}
	if err := errors.Join(errs...); err != nil {
		var helperErr *newuidmap.Error
		if errors.As(err, &helperErr) {
			return withHint(err, "the helper checks the map against /etc/subuid and /etc/subgid; 'unsh --dry-run' shows the map it was given")
		}
		return err
	}
	if p.Setgroups == "allow" && p.GID.Method == MethodHelper {
		return checkSetgroupsAllowed(proc + "setgroups")
	}
	return nil
}

// checkSetgroupsAllowed catches newgidmap denying setgroups behind our back:
// shadow 4.6 and later do so for a map of nothing but the caller's own gid.
func checkSetgroupsAllowed(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if strings.TrimSpace(string(data)) != "allow" {
		return withHint(fmt.Errorf("--setgroups=allow: newgidmap set %s to %q, as it does for a gid map of only your own gid", path, strings.TrimSpace(string(data))),
			"add subordinate gids to the map (--map-auto or --map-groups=auto), or leave out --setgroups=allow")
	}
	return nil
}

func writeMap(path string, m idmap.Map) error {
	if err := writeOnce(path, m.Text()); err != nil {
		return fmt.Errorf("%w (the map: %q)", err, m.Text())
	}
	return nil
}

// writeOnce writes text at offset 0 in one write(2): the kernel takes a map
// in one piece or not at all.
func writeOnce(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	n, err := f.Write([]byte(text))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != len(text) {
		err = fmt.Errorf("short write (%d of %d bytes)", n, len(text))
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

package main

import (
	"fmt"
	"os"

	"github.com/moby/sys/user"
	"golang.org/x/sys/unix"

	"github.com/unsh/unsh/pkg/idmap"
	"github.com/unsh/unsh/pkg/newuidmap"
)

// probeHost gathers the facts a plan is made from. It creates nothing.
func probeHost() (host, error) {
	h := host{
		uid:         uint32(os.Geteuid()),
		gid:         uint32(os.Getegid()),
		subuidPath:  "/etc/subuid",
		subgidPath:  "/etc/subgid",
		findHelper:  newuidmap.Find,
		lookupUser:  lookupUser,
		lookupGroup: lookupGroup,
	}
	if os.Getuid() != os.Geteuid() || os.Getgid() != os.Getegid() {
		return h, withHint(fmt.Errorf("real and effective ids differ (uid %d/%d, gid %d/%d): unsh must not be setuid or setgid",
			os.Getuid(), os.Geteuid(), os.Getgid(), os.Getegid()), "chmod u-s,g-s %s", executable())
	}
	loginShell := ""
	if u, err := user.LookupUid(int(h.uid)); err == nil {
		h.user, loginShell = u.Name, u.Shell
	}
	h.shell = firstNonEmpty(os.Getenv("SHELL"), loginShell, "/bin/sh")
	var err error
	if h.dir, err = os.Getwd(); err != nil {
		return h, fmt.Errorf("cannot read the working directory: %w", err)
	}
	h.uidParent = ownMap("/proc/self/uid_map")
	h.gidParent = ownMap("/proc/self/gid_map")
	h.capSetUID, h.capSetGID = effectiveCaps()
	return h, nil
}

func executable() string {
	if path, err := os.Executable(); err == nil {
		return path
	}
	return "unsh"
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// ownMap gives the ids that exist in the namespace unsh runs in, or nil when
// its map cannot be read.
func ownMap(path string) []idmap.Block {
	lines, err := user.ParseIDMapFile(path)
	if err != nil {
		return nil
	}
	blocks := make([]idmap.Block, 0, len(lines))
	for i, l := range lines {
		blocks = append(blocks, idmap.Block{
			Start:  uint64(l.ID),
			End:    uint64(l.ID) + uint64(l.Count),
			Origin: fmt.Sprintf("%s:%d", path, i+1),
		})
	}
	return blocks
}

// effectiveCaps says whether CAP_SETUID and CAP_SETGID are in the effective set.
func effectiveCaps() (setuid, setgid bool) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false, false
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	return has(unix.CAP_SETUID), has(unix.CAP_SETGID)
}

func lookupUser(name string) (uint32, error) {
	u, err := user.LookupUser(name)
	if err != nil {
		return 0, fmt.Errorf("no such user in the passwd database")
	}
	return uint32(u.Uid), nil
}

func lookupGroup(name string) (uint32, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("no such group in the group database")
	}
	return uint32(g.Gid), nil
}

package main

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/unsh/unsh/pkg/idmap"
)

// Process is the part of a plan besides the maps: namespaces and what
// happens to the command's process before it starts (spec §4).
// The JSON names are those of `unsh --dry-run --json` (see dryrun.go).
type Process struct {
	Cloneflags  uintptr        `json:"-"` // namespaces besides the user namespace; the plan names them
	Fork        bool           `json:"fork"`
	Init        bool           `json:"init"`
	KillSignal  syscall.Signal `json:"-"` // 0 for none; named in the JSON
	MountProc   string         `json:"mount_proc,omitempty"`
	Propagation string         `json:"propagation,omitempty"` // private, shared, slave or unchanged; "" without a mount namespace
	Root        string         `json:"root,omitempty"`
	Wd          string         `json:"-"` // the plan's directory shows it
	SetUID      *uint32        `json:"setuid,omitempty"`
	SetGID      *uint32        `json:"setgid,omitempty"`
	KeepCaps    bool           `json:"keep_caps"`
	Monotonic   int64          `json:"monotonic,omitempty"`
	Boottime    int64          `json:"boottime,omitempty"`
	Hostname    string         `json:"hostname,omitempty"`
}

// A namespaceOption is one of -m -u -i -n -p -C -T, as given.
type namespaceOption struct {
	on   bool
	flag uintptr // its clone flag
	name string  // as the plan names it
}

func namespaceFlags(o options) []namespaceOption {
	return []namespaceOption{
		{o.mount, unix.CLONE_NEWNS, "mount"}, {o.uts, unix.CLONE_NEWUTS, "uts"}, {o.ipc, unix.CLONE_NEWIPC, "ipc"},
		{o.net, unix.CLONE_NEWNET, "net"}, {o.pid, unix.CLONE_NEWPID, "pid"}, {o.cgroup, unix.CLONE_NEWCGROUP, "cgroup"},
		{o.time, unix.CLONE_NEWTIME, "time"},
	}
}

var propagations = map[string]uintptr{"private": unix.MS_PRIVATE, "shared": unix.MS_SHARED, "slave": unix.MS_SLAVE, "unchanged": 0}

// propagationFlag is the mount flag of a propagation name.
func propagationFlag(name string) uintptr { return propagations[name] }

// processPlan checks the process options and fills the process part of a
// plan; the maps are known by then, so -S and -G can be checked against them.
func processPlan(o options, plan *Plan) error {
	p := &plan.Process
	for _, ns := range namespaceFlags(o) {
		if ns.on {
			p.Cloneflags |= ns.flag
			plan.Namespaces = append(plan.Namespaces, ns.name)
		}
	}
	p.Fork, p.Init, p.KeepCaps = o.fork, o.init, o.keepCaps
	p.MountProc, p.Root, p.Wd, p.Hostname = o.mountProc, o.root, o.wd, o.hostname
	if o.mount {
		p.Propagation = "private"
		if o.propagation != "" {
			if _, ok := propagations[o.propagation]; !ok {
				return fmt.Errorf("invalid value '%s' for --propagation: want private, shared, slave or unchanged", o.propagation)
			}
			p.Propagation = o.propagation
		}
	}
	var err error
	if o.killChild != "" {
		if p.KillSignal, err = parseSignal(o.killChild); err != nil {
			return fmt.Errorf("invalid signal '%s' for --kill-child: %w", o.killChild, err)
		}
	}
	for _, f := range []struct {
		text, flag, kind string
		m                idmap.Map
		out              **uint32
	}{{o.setuid, "--setuid", "uid", plan.UID.Map, &p.SetUID}, {o.setgid, "--setgid", "gid", plan.GID.Map, &p.SetGID}} {
		if f.text == "" {
			continue
		}
		id, err := idmap.ParseID(f.text)
		if err != nil {
			return fmt.Errorf("invalid %s '%s' for %s: %s %w", f.kind, f.text, f.flag, f.kind, err)
		}
		if !f.m.HoldsInner(id) {
			return withHint(fmt.Errorf("invalid %s '%s' for %s: %s %d is not mapped inside", f.kind, f.text, f.flag, f.kind, id),
				"'unsh --dry-run' shows the map; --map-auto maps your subordinate ids")
		}
		*f.out = &id
	}
	for _, f := range []struct {
		text, flag string
		out        *int64
	}{{o.monotonic, "--monotonic", &p.Monotonic}, {o.boottime, "--boottime", &p.Boottime}} {
		if f.text == "" {
			continue
		}
		if *f.out, err = strconv.ParseInt(f.text, 10, 64); err != nil {
			return fmt.Errorf("invalid offset '%s' for %s: want whole seconds", f.text, f.flag)
		}
	}
	switch {
	case o.wd != "":
		plan.Dir = o.wd
	case o.root != "":
		plan.Dir = "/"
	}
	return nil
}

// parseSignal reads KILL, SIGKILL or 9.
func parseSignal(text string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(text); err == nil {
		if n < 1 || n > 64 {
			return 0, fmt.Errorf("no signal %d", n)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(text)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("no such signal")
}

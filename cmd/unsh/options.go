package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// options is the command line as typed, before any file is read.
type options struct {
	mapRoot, mapCurrent bool
	mapUser, mapGroup   string // "" when not given
	mapUsers, mapGroups []string
	mapAuto             bool
	setgroups           string // "", "allow" or "deny"

	// Namespaces besides the user namespace, which is always created.
	user, mount, uts, ipc, net, pid, cgroup, time bool

	fork, init  bool
	killChild   string // "" when not given; a signal name or number
	mountProc   string // "" when not given
	propagation string
	root, wd    string
	setuid      string // "" when not given
	setgid      string
	keepCaps    bool
	monotonic   string // "" when not given; seconds
	boottime    string
	hostname    string

	dryRun, json  bool
	help, version bool

	command []string
}

// singleMapping says whether -r, -c, --map-user or --map-group was given.
func (o options) singleMapping() bool {
	return o.mapRoot || o.mapCurrent || o.mapUser != "" || o.mapGroup != ""
}

// anyMapping says whether any mapping option was given; without one the
// default of spec §3.0 applies.
func (o options) anyMapping() bool {
	return o.singleMapping() || o.mapAuto || len(o.mapUsers) > 0 || len(o.mapGroups) > 0
}

func newFlagSet(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("unsh", pflag.ContinueOnError)
	fs.SetInterspersed(false) // options end at the command: unsh bash -c 'echo $0'
	fs.SortFlags = false
	fs.Usage = func() {}
	fs.SetOutput(&bytes.Buffer{})

	fs.BoolVarP(&o.mapRoot, "map-root-user", "r", false, "map your uid and gid to root (0) inside")
	fs.BoolVarP(&o.mapCurrent, "map-current-user", "c", false, "map your uid and gid to themselves inside")
	fs.StringVar(&o.mapUser, "map-user", "", "map your uid to `UID|NAME` inside")
	fs.StringVar(&o.mapGroup, "map-group", "", "map your gid to `GID|NAME` inside")
	fs.StringArrayVar(&o.mapUsers, "map-users", nil, "add uid ranges; `SPEC` is INNER:OUTER:COUNT, OUTER,INNER,COUNT, auto, subids or all (repeatable)")
	fs.StringArrayVar(&o.mapGroups, "map-groups", nil, "add gid ranges, as `SPEC` for --map-users (repeatable)")
	fs.BoolVar(&o.mapAuto, "map-auto", false, "map all your subordinate ids, and your own ids to root unless -c, --map-user or --map-group place them")
	fs.StringVar(&o.setgroups, "setgroups", "", "`allow|deny` setgroups(2) inside")
	fs.BoolVarP(&o.user, "user", "U", false, "create a user namespace (always done; accepted for unshare's sake)")
	fs.BoolVarP(&o.mount, "mount", "m", false, "create a mount namespace")
	fs.BoolVarP(&o.uts, "uts", "u", false, "create a UTS namespace (hostname)")
	fs.BoolVarP(&o.ipc, "ipc", "i", false, "create an IPC namespace")
	fs.BoolVarP(&o.net, "net", "n", false, "create a network namespace")
	fs.BoolVarP(&o.pid, "pid", "p", false, "create a pid namespace; implies --fork, the command is PID 1")
	fs.BoolVarP(&o.cgroup, "cgroup", "C", false, "create a cgroup namespace")
	fs.BoolVarP(&o.time, "time", "T", false, "create a time namespace; implies --fork")
	fs.BoolVarP(&o.fork, "fork", "f", false, "run the command as a child of the namespace set-up")
	fs.BoolVar(&o.init, "init", false, "run a small init as PID 1 that reaps orphans and passes signals on; implies --pid")
	fs.StringVar(&o.killChild, "kill-child", "", "send `SIGNAL` (default KILL) to the command when unsh dies")
	fs.Lookup("kill-child").NoOptDefVal = "KILL"
	fs.StringVar(&o.mountProc, "mount-proc", "", "mount a fresh proc at `DIR` (default /proc); implies --mount")
	fs.Lookup("mount-proc").NoOptDefVal = "/proc"
	fs.StringVar(&o.propagation, "propagation", "", "mount propagation of / with --mount: `private|shared|slave|unchanged` (default private)")
	fs.StringVarP(&o.root, "root", "R", "", "run the command with `DIR` as its root directory (chroot)")
	fs.StringVarP(&o.wd, "wd", "w", "", "run the command in `DIR`")
	fs.StringVarP(&o.setuid, "setuid", "S", "", "run the command as `UID` inside")
	fs.StringVarP(&o.setgid, "setgid", "G", "", "run the command as `GID` inside (dropping supplementary groups where allowed)")
	fs.BoolVar(&o.keepCaps, "keep-caps", false, "keep the capabilities of the user namespace across exec (as ambient ones)")
	fs.StringVar(&o.monotonic, "monotonic", "", "offset of CLOCK_MONOTONIC in the new time namespace, in `SECONDS`; implies --time")
	fs.StringVar(&o.boottime, "boottime", "", "offset of CLOCK_BOOTTIME in the new time namespace, in `SECONDS`; implies --time")
	fs.StringVar(&o.hostname, "hostname", "", "set the host name to `NAME` in a new UTS namespace; implies --uts")
	fs.BoolVar(&o.dryRun, "dry-run", false, "print the plan and create nothing")
	fs.BoolVar(&o.json, "json", false, "with --dry-run, print the plan as JSON")
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
	fs.BoolVarP(&o.version, "version", "V", false, "show the version")
	return fs
}

func parseOptions(args []string) (options, error) {
	var o options
	fs := newFlagSet(&o)
	if err := fs.Parse(args); err != nil {
		return o, withHint(err, "see 'unsh --help'")
	}
	o.command = fs.Args()
	switch {
	case o.setgroups != "" && o.setgroups != "allow" && o.setgroups != "deny":
		return o, fmt.Errorf("invalid value '%s' for --setgroups: want allow or deny", o.setgroups)
	case o.json && !o.dryRun:
		return o, fmt.Errorf("--json goes with --dry-run")
	case o.mapRoot && o.mapCurrent:
		return o, fmt.Errorf("-r (--map-root-user) and -c (--map-current-user) exclude each other")
	case (o.mapRoot || o.mapCurrent) && (o.mapUser != "" || o.mapGroup != ""):
		return o, fmt.Errorf("--map-user and --map-group do not go with -r or -c")
	}
	// What implies what, as in util-linux unshare.
	o.pid = o.pid || o.init
	o.time = o.time || o.monotonic != "" || o.boottime != ""
	o.fork = o.fork || o.pid || o.time
	o.mount = o.mount || o.mountProc != ""
	o.uts = o.uts || o.hostname != ""
	if o.propagation != "" && !o.mount {
		return o, withHint(fmt.Errorf("--propagation=%s needs a mount namespace", o.propagation), "add -m (--mount)")
	}
	return o, nil
}

func usage() string {
	var o options
	fs := newFlagSet(&o)
	var b strings.Builder
	b.WriteString(`Usage:
  unsh [run] [OPTIONS] [--] [COMMAND [ARG...]]
  unsh help | unsh --help | unsh --version

Run COMMAND (default: $SHELL) in a new user namespace. With no mapping option,
unsh maps you to root and adds all your subordinate ids (--map-auto) when
/etc/subuid and /etc/subgid give you ranges, and maps you to root alone (-r)
otherwise.

Options:
`)
	fs.VisitAll(func(f *pflag.Flag) {
		name := "    --" + f.Name
		if f.Shorthand != "" {
			name = "-" + f.Shorthand + ", --" + f.Name
		}
		varName, text := pflag.UnquoteUsage(f)
		if f.Value.Type() != "bool" {
			name += "=" + varName
		}
		fmt.Fprintf(&b, "  %-28s %s\n", name, text)
	})
	b.WriteString(`
Exit status: the command's; 125 when unsh itself fails, 126 when the command
cannot be executed, 127 when it is not found.
`)
	return b.String()
}

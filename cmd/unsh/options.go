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

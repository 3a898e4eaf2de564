package main

import (
	"fmt"

	"github.com/unsh/unsh/pkg/idmap"
	"github.com/unsh/unsh/pkg/subid"
)

// Method is how one map gets written.
type Method string

const (
	MethodNone   Method = "none"   // no map of this kind is asked for
	MethodWrite  Method = "write"  // unsh writes /proc/PID/{uid,gid}_map itself
	MethodHelper Method = "helper" // the setuid newuidmap or newgidmap writes it
)

// A Plan is everything unsh will do, decided before anything is created.
type Plan struct {
	Mapping   string // which mapping rule applied, for the reader
	UID, GID  Side
	Setgroups string // "allow" or "deny"
	// WriteSetgroups is set when "deny" must go to /proc/PID/setgroups before gid_map.
	WriteSetgroups bool
	Namespaces     []string
	Process        Process
	Command        []string
	Dir            string // the command's working directory, as seen inside
	Warnings       []string
}

// A Side is the uid or the gid half of a plan.
type Side struct {
	Map    idmap.Map
	Method Method
	Helper string // absolute path of newuidmap or newgidmap, for MethodHelper
	// Inside is the id the command takes with setresuid/setresgid once the
	// map is written; nil keeps the one the kernel gives (the caller's own
	// id, where it is mapped).
	Inside *uint32
}

// host is what unsh knows of its caller and machine; probeHost fills it, tests
// build it by hand.
type host struct {
	uid, gid   uint32 // effective ids
	user       string // the caller's name, "" when passwd does not know the uid
	shell      string // $SHELL, else the login shell, else /bin/sh
	dir        string
	subuidPath string
	subgidPath string
	// uidParent and gidParent are the ids that exist in the namespace unsh
	// runs in (its /proc/self/{uid,gid}_map); nil when unknown.
	uidParent, gidParent []idmap.Block
	capSetUID, capSetGID bool
	findHelper           func(name string) (string, error) // newuidmap.Find
	lookupUser           func(name string) (uint32, error)
	lookupGroup          func(name string) (uint32, error)
}

// kind describes one side of the plan for the builder.
type kind struct {
	id       string // "uid" or "gid"
	flag     string // "--map-users" or "--map-groups"
	file     string // the subordinate-id file
	helper   string // "newuidmap" or "newgidmap"
	usermod  string // the usermod option that adds ranges
	own      uint32
	parent   []idmap.Block
	canWrite bool // the caller holds CAP_SETUID (CAP_SETGID) in its namespace
}

func (h host) kinds() (uid, gid kind) {
	uid = kind{id: "uid", flag: "--map-users", file: h.subuidPath, helper: "newuidmap", usermod: "--add-subuids",
		own: h.uid, parent: h.uidParent, canWrite: h.capSetUID}
	gid = kind{id: "gid", flag: "--map-groups", file: h.subgidPath, helper: "newgidmap", usermod: "--add-subgids",
		own: h.gid, parent: h.gidParent, canWrite: h.capSetGID}
	return uid, gid
}

// planner builds a plan; it reads each subordinate-id file at most once.
type planner struct {
	h        host
	warnings []string
	subids   map[string][]idmap.Block
}

// newPlan turns options and host facts into a plan, or the error that stops unsh.
// Warnings are returned in the plan even when err is set.
func newPlan(o options, h host) (Plan, error) {
	p := &planner{h: h, subids: map[string][]idmap.Block{}}
	plan, err := p.build(o)
	plan.Warnings = p.warnings
	return plan, err
}

func (p *planner) build(o options) (Plan, error) {
	uidKind, gidKind := p.h.kinds()
	plan := Plan{Namespaces: []string{"user"}, Command: o.command, Dir: p.h.dir}
	if len(plan.Command) == 0 {
		plan.Command = []string{p.h.shell}
	}

	mapping, err := p.applyDefault(&o, uidKind, gidKind)
	if err != nil {
		return plan, err
	}
	plan.Mapping = mapping

	uidSingle, gidSingle, err := p.singles(o)
	if err != nil {
		return plan, err
	}
	if plan.UID.Map, err = p.buildMap(uidKind, uidSingle, o.mapUsers); err != nil {
		return plan, err
	}
	if plan.GID.Map, err = p.buildMap(gidKind, gidSingle, o.mapGroups); err != nil {
		return plan, err
	}

	plan.Setgroups, plan.GID.Method = gidMethod(o.setgroups, plan.GID.Map, gidKind)
	plan.WriteSetgroups = plan.Setgroups == "deny"
	plan.UID.Method = uidMethod(plan.UID.Map, uidKind)
	for _, s := range []struct {
		side *Side
		k    kind
	}{{&plan.UID, uidKind}, {&plan.GID, gidKind}} {
		if s.side.Method != MethodHelper {
			continue
		}
		if s.side.Helper, err = p.h.findHelper(s.k.helper); err != nil {
			return plan, fmt.Errorf("cannot write the %s map: %w", s.k.id, err)
		}
	}
	plan.UID.Inside = insideID(plan.UID.Map, p.h.uid)
	plan.GID.Inside = insideID(plan.GID.Map, p.h.gid)
	return plan, processPlan(o, &plan)
}

// applyDefault applies spec §3.0 to o when no mapping option was given, turns
// --map-auto into its "auto" specs, and says which rule was taken.
func (p *planner) applyDefault(o *options, uidKind, gidKind kind) (string, error) {
	mapping := "as the mapping options say"
	if !o.anyMapping() {
		uids, err := p.subordinate(uidKind)
		if err != nil {
			return "", err
		}
		gids, err := p.subordinate(gidKind)
		if err != nil {
			return "", err
		}
		if len(uids) == 0 || len(gids) == 0 {
			o.mapRoot = true
			return "--map-root-user (the default, as " + p.who() + " lacks subordinate uids or gids)", nil
		}
		o.mapAuto = true
		mapping = "--map-auto (the default, as " + p.who() + " has subordinate uids and gids)"
	}
	if o.mapAuto {
		o.mapUsers = append([]string{"auto"}, o.mapUsers...)
		o.mapGroups = append([]string{"auto"}, o.mapGroups...)
	}
	return mapping, nil
}

// who names the caller in messages: `user "alice" (uid 1001)`.
func (p *planner) who() string {
	if p.h.user == "" {
		return fmt.Sprintf("uid %d (no user name)", p.h.uid)
	}
	return fmt.Sprintf("user %q (uid %d)", p.h.user, p.h.uid)
}

// singles gives the single mapping of each side (spec §3.1), nil where there is
// none. --map-auto maps the caller to root on a side that has no other.
func (p *planner) singles(o options) (uid, gid *idmap.Entry, err error) {
	switch {
	case o.mapRoot:
		uid, gid = entry(0, p.h.uid, "caller"), entry(0, p.h.gid, "caller")
	case o.mapCurrent:
		uid, gid = entry(p.h.uid, p.h.uid, "caller"), entry(p.h.gid, p.h.gid, "caller")
	}
	if o.mapUser != "" {
		inner, err := resolveID(o.mapUser, p.h.lookupUser)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid user '%s' for --map-user: %w", o.mapUser, err)
		}
		uid = entry(inner, p.h.uid, "caller")
	}
	if o.mapGroup != "" {
		inner, err := resolveID(o.mapGroup, p.h.lookupGroup)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid group '%s' for --map-group: %w", o.mapGroup, err)
		}
		gid = entry(inner, p.h.gid, "caller")
	}
	if o.mapAuto {
		if uid == nil {
			uid = entry(0, p.h.uid, "caller")
		}
		if gid == nil {
			gid = entry(0, p.h.gid, "caller")
		}
	}
	return uid, gid, nil
}

func entry(inner, outer uint32, origin string) *idmap.Entry {
	e := idmap.Single(inner, outer, origin)
	return &e
}

// resolveID reads a number, or looks a name up.
func resolveID(text string, lookup func(string) (uint32, error)) (uint32, error) {
	if id, err := idmap.ParseID(text); err == nil {
		if id > idmap.MaxID {
			return 0, fmt.Errorf("%d is not a valid id", id)
		}
		return id, nil
	}
	return lookup(text)
}

// buildMap puts one side together: the single mapping and explicit ranges
// first, "subids" and "all" mapped onto themselves, then "auto" packed into the
// inner ids left free. The result is sorted and checked against the kernel's rules.
func (p *planner) buildMap(k kind, single *idmap.Entry, specs []string) (idmap.Map, error) {
	var m idmap.Map
	if single != nil {
		m = append(m, *single)
	}
	autos := 0
	for _, text := range specs {
		spec, err := idmap.ParseSpec(text)
		if err != nil {
			return nil, fmt.Errorf("invalid mapping '%s' for %s: %w", text, k.flag, err)
		}
		switch spec.Kind {
		case idmap.SpecRange:
			m = append(m, idmap.Entry{Range: spec.Range, Origin: k.flag})
		case idmap.SpecAuto:
			autos++
		case idmap.SpecSubids:
			blocks, err := p.needSubordinate(k)
			if err != nil {
				return nil, err
			}
			m = append(m, idmap.Identity(blocks)...)
		case idmap.SpecAll:
			if k.parent == nil {
				return nil, fmt.Errorf("invalid mapping 'all' for %s: the %s map of this namespace (/proc/self/%s_map) cannot be read", k.flag, k.id, k.id)
			}
			m = append(m, idmap.Identity(k.parent)...)
		}
	}
	for ; autos > 0; autos-- {
		blocks, err := p.needSubordinate(k)
		if err != nil {
			return nil, err
		}
		m = append(m, idmap.Pack(m, blocks)...)
	}
	if len(m) == 0 {
		return nil, nil
	}
	m.SortByInner()
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("invalid %s map: %w", k.id, err)
	}
	return m, nil
}

// subordinate reads the caller's usable subordinate ids of one kind, once.
func (p *planner) subordinate(k kind) ([]idmap.Block, error) {
	if blocks, ok := p.subids[k.id]; ok {
		return blocks, nil
	}
	raw, warnings, err := subid.ReadFile(k.file, subid.Owner{Name: p.h.user, ID: p.h.uid})
	p.warnings = append(p.warnings, warnings...)
	if err != nil {
		return nil, err
	}
	usable, warnings := subid.Usable(raw, k.id, k.own, k.parent)
	p.warnings = append(p.warnings, warnings...)
	p.subids[k.id] = usable
	return usable, nil
}

// needSubordinate is subordinate for a map that cannot do without them.
func (p *planner) needSubordinate(k kind) ([]idmap.Block, error) {
	blocks, err := p.subordinate(k)
	if err == nil && len(blocks) == 0 {
		name := p.h.user
		if name == "" {
			name = fmt.Sprint(p.h.uid)
		}
		err = withHint(fmt.Errorf("no subordinate %s range for %s in %s", k.id, p.who(), k.file),
			"sudo usermod %s 100000-165535 %s", k.usermod, name)
	}
	return blocks, err
}

// uidMethod applies spec §3.5 (2) to the uid map.
func uidMethod(m idmap.Map, k kind) Method {
	switch {
	case len(m) == 0:
		return MethodNone
	case k.canWrite || selfOnly(m, k.own):
		return MethodWrite
	}
	return MethodHelper
}

// gidMethod applies spec §3.5 (1) and (2) to the gid map: an unprivileged
// caller may write its own gid only after setgroups is denied, so an asked-for
// "allow" sends the map through newgidmap instead.
func gidMethod(asked string, m idmap.Map, k kind) (setgroups string, method Method) {
	switch {
	case len(m) == 0:
		method = MethodNone
	case k.canWrite:
		method = MethodWrite
	case selfOnly(m, k.own) && asked != "allow":
		return "deny", MethodWrite
	default:
		method = MethodHelper
	}
	if asked == "" {
		asked = "allow"
	}
	return asked, method
}

// insideID picks the id the command runs as: the caller's own id where the
// map holds it, else root where the map has one, else what the kernel gives.
func insideID(m idmap.Map, own uint32) *uint32 {
	if m.HoldsOuter(own) || !m.HoldsInner(0) {
		return nil
	}
	root := uint32(0)
	return &root
}

func selfOnly(m idmap.Map, own uint32) bool {
	return len(m) == 1 && m[0].Outer == own && m[0].Count == 1
}

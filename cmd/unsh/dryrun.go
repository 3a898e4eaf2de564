package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"syscall"
	"text/tabwriter"

	"golang.org/x/sys/unix"

	"github.com/unsh/unsh/pkg/newuidmap"
)

// printPlan prints the plan for --dry-run, as text or as JSON (spec §3.6; the
// fields are documented in the man page).
func printPlan(w io.Writer, p Plan, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(planJSON(p))
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "mapping:\t%s\n", p.Mapping)
	for _, s := range []struct {
		name string
		side Side
	}{{"uid", p.UID}, {"gid", p.GID}} {
		fmt.Fprintf(tw, "%s map:\t%s\n", s.name, describeMethod(s.name, s.side))
		for _, e := range s.side.Map {
			fmt.Fprintf(tw, "\t%d\t%d\t%d\t%s\n", e.Inner, e.Outer, e.Count, e.Origin)
		}
	}
	setgroups := p.Setgroups
	if p.WriteSetgroups {
		setgroups += " (written before the gid map)"
	}
	fmt.Fprintf(tw, "setgroups:\t%s\n", setgroups)
	fmt.Fprintf(tw, "namespaces:\t%s\n", strings.Join(p.Namespaces, " "))
	fmt.Fprintf(tw, "process:\t%s\n", describeProcess(p.Process))
	fmt.Fprintf(tw, "command:\t%s\n", shellQuote(p.Command))
	fmt.Fprintf(tw, "directory:\t%s\n", p.Dir)
	return tw.Flush()
}

func describeMethod(name string, s Side) string {
	switch s.Method {
	case MethodWrite:
		return "written by unsh to /proc/PID/" + name + "_map"
	case MethodHelper:
		return "written by " + shellQuote(newuidmap.Command(s.Helper, "PID", s.Map))
	}
	return "none (not written)"
}

// describeProcess says in words what happens to the command's process.
func describeProcess(p Process) string {
	var parts []string
	add := func(on bool, format string, args ...any) {
		if on {
			parts = append(parts, fmt.Sprintf(format, args...))
		}
	}
	add(p.Fork, "fork")
	add(p.Init, "unsh's init as PID 1")
	add(p.Propagation != "", "propagation %s", p.Propagation)
	add(p.Hostname != "", "hostname %s", p.Hostname)
	add(p.Root != "", "root %s", p.Root)
	add(p.MountProc != "", "proc at %s", p.MountProc)
	add(p.SetGID != nil, "setgid %d", deref(p.SetGID))
	add(p.SetUID != nil, "setuid %d", deref(p.SetUID))
	add(p.KeepCaps, "keep capabilities")
	add(p.Monotonic != 0, "monotonic %+ds", p.Monotonic)
	add(p.Boottime != 0, "boottime %+ds", p.Boottime)
	add(p.KillSignal != 0, "%s when unsh dies", signalName(p.KillSignal))
	if len(parts) == 0 {
		return "exec in place"
	}
	return strings.Join(parts, ", ")
}

func deref(id *uint32) uint32 {
	if id == nil {
		return 0
	}
	return *id
}

func signalName(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return fmt.Sprint(int(sig))
}

// shellQuote joins argv so that a shell would split it back the same way.
func shellQuote(argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
			quoted[i] = a
			continue
		}
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}

type jsonRange struct {
	Inner  uint32 `json:"inner"`
	Outer  uint32 `json:"outer"`
	Count  uint32 `json:"count"`
	Origin string `json:"origin"`
}

type jsonSide struct {
	Method string      `json:"method"`
	Argv   []string    `json:"argv,omitempty"`
	Map    []jsonRange `json:"map"`
}

// jsonProcess is the plan's Process with its signal named.
type jsonProcess struct {
	Process
	KillSignal string `json:"kill_signal,omitempty"`
}

type jsonPlan struct {
	Mapping    string      `json:"mapping"`
	UID        jsonSide    `json:"uid"`
	GID        jsonSide    `json:"gid"`
	Setgroups  string      `json:"setgroups"`
	Namespaces []string    `json:"namespaces"`
	Process    jsonProcess `json:"process"`
	Command    []string    `json:"command"`
	Directory  string      `json:"directory"`
	Warnings   []string    `json:"warnings"`
}

func planJSON(p Plan) jsonPlan {
	side := func(s Side) jsonSide {
		js := jsonSide{Method: string(s.Method), Map: []jsonRange{}}
		if s.Method == MethodHelper {
			js.Argv = newuidmap.Command(s.Helper, "PID", s.Map)
		}
		for _, e := range s.Map {
			js.Map = append(js.Map, jsonRange{e.Inner, e.Outer, e.Count, e.Origin})
		}
		return js
	}
	warnings := p.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	jp := jsonPlan{
		Mapping:    p.Mapping,
		UID:        side(p.UID),
		GID:        side(p.GID),
		Setgroups:  p.Setgroups,
		Namespaces: p.Namespaces,
		Process:    jsonProcess{Process: p.Process},
		Command:    p.Command,
		Directory:  p.Dir,
		Warnings:   warnings,
	}
	if p.Process.KillSignal != 0 {
		jp.Process.KillSignal = signalName(p.Process.KillSignal)
	}
	return jp
}

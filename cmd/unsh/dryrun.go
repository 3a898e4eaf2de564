package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// helperArgv is the exact argv a helper gets, with the target shown as "PID".
func helperArgv(s Side, pid string) []string {
	return append([]string{s.Helper, pid}, s.Map.Args()...)
}

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
	fmt.Fprintf(tw, "command:\t%s\n", shellQuote(p.Command))
	fmt.Fprintf(tw, "directory:\t%s\n", p.Dir)
	return tw.Flush()
}

func describeMethod(name string, s Side) string {
	switch s.Method {
	case MethodWrite:
		return "written by unsh to /proc/PID/" + name + "_map"
	case MethodHelper:
		return "written by " + shellQuote(helperArgv(s, "PID"))
	}
	return "none (not written)"
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

type jsonPlan struct {
	Mapping    string   `json:"mapping"`
	UID        jsonSide `json:"uid"`
	GID        jsonSide `json:"gid"`
	Setgroups  string   `json:"setgroups"`
	Namespaces []string `json:"namespaces"`
	Command    []string `json:"command"`
	Directory  string   `json:"directory"`
	Warnings   []string `json:"warnings"`
}

func planJSON(p Plan) jsonPlan {
	side := func(s Side) jsonSide {
		js := jsonSide{Method: string(s.Method), Map: []jsonRange{}}
		if s.Method == MethodHelper {
			js.Argv = helperArgv(s, "PID")
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
	return jsonPlan{
		Mapping:    p.Mapping,
		UID:        side(p.UID),
		GID:        side(p.GID),
		Setgroups:  p.Setgroups,
		Namespaces: p.Namespaces,
		Command:    p.Command,
		Directory:  p.Dir,
		Warnings:   warnings,
	}
}

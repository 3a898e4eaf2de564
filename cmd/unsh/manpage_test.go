package main

// The manual page, man/unsh.1.md, must document exactly the options of
// newFlagSet, which --help prints, and must render with man(1) without a
// warning.

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/pflag"
)

const manPageSource = "../../man/unsh.1.md"

// optionWord is one option as a definition term writes it, once the Markdown
// emphasis is gone: "--root=DIR", "--kill-child[=SIGNAL]", "-R".
var optionWord = regexp.MustCompile(`^(--[a-z0-9][a-z0-9-]*|-[A-Za-z0-9])(?:[=\[]|$)`)

// longMention is a long option named anywhere in the text of OPTIONS.
var longMention = regexp.MustCompile(`(?:^|[^\w-])(--[a-z0-9][a-z0-9-]*)`)

// optionTerm shows an option as the page writes it: "-R, --root" or "--init".
func optionTerm(long, short string) string {
	if short == "" {
		return "--" + long
	}
	return "-" + short + ", --" + long
}

// pageOptions reads the OPTIONS section of the Markdown page: the option of
// each definition term (a line followed by one that starts with ":"), and
// every long option that the text besides the terms mentions.
func pageOptions(t *testing.T, page []byte) (terms map[string]bool, mentions []string) {
	t.Helper()
	var section []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(page))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# ") {
			in = strings.TrimSpace(line) == "# OPTIONS"
			continue
		}
		if in {
			section = append(section, strings.NewReplacer("*", "", "`", "").Replace(line))
		}
	}
	if len(section) == 0 {
		t.Fatalf("%s has no '# OPTIONS' section", manPageSource)
	}

	terms = map[string]bool{}
	for i, line := range section {
		if i+1 == len(section) || !strings.HasPrefix(section[i+1], ":") || strings.TrimSpace(line) == "" {
			for _, m := range longMention.FindAllStringSubmatch(line, -1) {
				mentions = append(mentions, m[1])
			}
			continue
		}
		var long, short string
		for _, word := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			m := optionWord.FindStringSubmatch(word)
			switch {
			case m == nil:
				t.Errorf("OPTIONS term %q: %q is not an option", line, word)
			case strings.HasPrefix(m[1], "--") && long == "":
				long = m[1][2:]
			case !strings.HasPrefix(m[1], "--") && short == "":
				short = m[1][1:]
			default:
				t.Errorf("OPTIONS term %q names more than one option; give each its own term", line)
			}
		}
		if long == "" {
			t.Errorf("OPTIONS term %q has no long option", line)
			continue
		}
		terms[optionTerm(long, short)] = true
	}
	return terms, mentions
}

// TestManPageCoversHelp keeps the page in step with --help: every flag is a
// term of OPTIONS, with its short form, and every term is a flag.
func TestManPageCoversHelp(t *testing.T) {
	page, err := os.ReadFile(manPageSource)
	if err != nil {
		t.Fatal(err)
	}
	terms, mentions := pageOptions(t, page)

	flags := map[string]bool{}
	longs := map[string]bool{}
	newFlagSet(&options{}).VisitAll(func(f *pflag.Flag) {
		flags[optionTerm(f.Name, f.Shorthand)] = true
		longs["--"+f.Name] = true
	})

	var notInPage, notFlags, unknownMentions []string
	for flag := range flags {
		if !terms[flag] {
			notInPage = append(notInPage, flag)
		}
	}
	for term := range terms {
		if !flags[term] {
			notFlags = append(notFlags, term)
		}
	}
	for _, m := range mentions {
		if !longs[m] && !slices.Contains(unknownMentions, m) {
			unknownMentions = append(unknownMentions, m)
		}
	}
	for _, list := range [][]string{notInPage, notFlags, unknownMentions} {
		slices.Sort(list)
	}
	if len(notInPage) > 0 {
		t.Errorf("in --help but not in the OPTIONS of man/unsh.1.md (%d): %s", len(notInPage), strings.Join(notInPage, "; "))
	}
	if len(notFlags) > 0 {
		t.Errorf("in the OPTIONS of man/unsh.1.md but not in --help (%d): %s", len(notFlags), strings.Join(notFlags, "; "))
	}
	if len(unknownMentions) > 0 {
		t.Errorf("named in the text of OPTIONS in man/unsh.1.md but not in --help: %s", strings.Join(unknownMentions, ", "))
	}
}

// TestManPageRenders builds the page as make man does and formats it as
// "MANWIDTH=80 man --warnings -l", which must print no warning.
func TestManPageRenders(t *testing.T) {
	man, err := exec.LookPath("man")
	if err != nil {
		if os.Getenv("UNSH_INTEGRATION") == "required" {
			t.Fatal("man is missing; make test installs man-db")
		}
		t.Skip("man is missing; make test installs man-db")
	}

	page := filepath.Join(t.TempDir(), "unsh.1")
	var stderr bytes.Buffer
	md2man := exec.Command("go", "tool", "go-md2man", "-in", manPageSource, "-out", page)
	md2man.Stderr = &stderr
	if err := md2man.Run(); err != nil {
		t.Fatalf("go tool go-md2man: %v\n%s", err, &stderr)
	}
	// go-md2man warns about Markdown it cannot render (raw HTML, for one);
	// other lines on its stderr are the go command's ("go: downloading").
	if strings.Contains(stderr.String(), "WARNING") {
		t.Errorf("go tool go-md2man warned:\n%s", &stderr)
	}

	var stdout bytes.Buffer
	stderr.Reset()
	render := exec.Command(man, "--warnings", "-l", page)
	// LC_ALL=C: the same ASCII rendering wherever the test runs, with no
	// warning about a locale that is not installed.
	render.Env = append(os.Environ(), "MANWIDTH=80", "LC_ALL=C", "MANPAGER=cat", "PAGER=cat")
	render.Stdout, render.Stderr = &stdout, &stderr
	if err := render.Run(); err != nil {
		t.Fatalf("MANWIDTH=80 man --warnings -l %s: %v\n%s", page, err, &stderr)
	}
	if stderr.Len() > 0 {
		t.Errorf("MANWIDTH=80 man --warnings -l %s warned:\n%s", page, &stderr)
	}
	if !strings.Contains(stdout.String(), "SYNOPSIS") {
		t.Errorf("man printed no SYNOPSIS:\n%s", &stdout)
	}
	for i, line := range strings.Split(stdout.String(), "\n") {
		if len(line) > 80 {
			t.Errorf("rendered line %d is %d columns wide, more than 80: %q", i+1, len(line), line)
		}
	}
}

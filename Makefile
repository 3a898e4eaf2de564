# unsh: build, test, benchmark and install.
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   := $(PREFIX)/bin
MANDIR   := $(PREFIX)/share/man
GO       ?= go
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
FUZZTIME ?= 2m
SOURCES  := $(shell find cmd pkg -name '*.go' -o -name '*.c' -o -name '*.h') go.mod go.sum

.PHONY: all shell man test deps bench fuzz install clean

all: bin/unsh

bin/unsh: $(SOURCES)
	$(GO) build -trimpath -ldflags '-X main.version=$(VERSION)' -o $@ ./cmd/unsh

# The manual page, from Markdown by go-md2man (a tool dependency in go.mod).
man: man/unsh.1

man/unsh.1: man/unsh.1.md go.mod go.sum
	$(GO) tool go-md2man -in man/unsh.1.md -out $@

# The main job: a shell as root of a new user namespace with all your subordinate ids.
shell: bin/unsh
	bin/unsh --map-auto -- $${SHELL:-/bin/sh}

# Installs what the tests need (as root), then runs vet, gofmt and every test,
# the integration tests as an unprivileged user included.
test: deps
	$(GO) vet ./...
	@unformatted=$$(gofmt -l cmd pkg); if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	UNSH_INTEGRATION=required $(GO) test -count=1 ./...

# newuidmap/newgidmap come from Debian's uidmap package; unshare, setpriv and
# runuser from util-linux; man, which checks the manual page, from man-db.
deps:
	@for tool in newuidmap newgidmap; do \
		command -v $$tool >/dev/null && continue; \
		if [ "$$(id -u)" != 0 ]; then echo "$$tool is missing: install the uidmap package (or shadow-utils)"; exit 1; fi; \
		apt-get update -q && apt-get install -y -q uidmap || exit 1; \
	done
	@if ! command -v man >/dev/null; then \
		if [ "$$(id -u)" != 0 ]; then echo "man is missing: install the man-db package"; exit 1; fi; \
		apt-get update -q && apt-get install -y -q man-db || exit 1; \
	fi
	@command -v unshare >/dev/null && command -v setpriv >/dev/null || apt-get install -y -q util-linux

bench: deps
	UNSH_INTEGRATION=required $(GO) test -run '^$$' -bench . -benchtime 20x -count 1 ./cmd/unsh

fuzz:
	$(GO) test ./pkg/idmap -run '^$$' -fuzz '^FuzzParseSpec$$' -fuzztime $(FUZZTIME)
	$(GO) test ./pkg/subid -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./pkg/nsexec -run '^$$' -fuzz '^FuzzParseBootstrap$$' -fuzztime $(FUZZTIME)

install: bin/unsh man/unsh.1
	install -D -m 0755 bin/unsh $(DESTDIR)$(BINDIR)/unsh
	install -D -m 0644 man/unsh.1 $(DESTDIR)$(MANDIR)/man1/unsh.1

clean:
	rm -rf bin man/unsh.1

// Package nsexec moves a command into new namespaces through the staged start
// of stage.c: a re-executed unsh that unshares its user namespace before the
// Go runtime exists, has its maps written by the caller of Start, and execs
// the command. The package knows how to start and report on the stages; what
// the maps are and who writes them is the caller's business.
package nsexec

module github.com/unsh/unsh

go 1.24.0

require (
	github.com/moby/sys/user v0.5.0
	github.com/spf13/pflag v1.1.0
	golang.org/x/sys v0.41.0
)

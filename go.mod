module github.com/unsh/unsh

go 1.24.0

require (
	github.com/creack/pty v1.1.24
	github.com/moby/sys/user v0.5.0
	github.com/spf13/pflag v1.1.0
	golang.org/x/sys v0.41.0
)

require (
	github.com/cpuguy83/go-md2man/v2 v2.0.7 // indirect
	github.com/russross/blackfriday/v2 v2.1.0 // indirect
)

tool github.com/cpuguy83/go-md2man/v2

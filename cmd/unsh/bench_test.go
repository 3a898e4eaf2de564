package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Benchmarks for spec §6. Each runs the command b.N times in a shell loop
// inside one sandbox, as the unprivileged test user, so that the sandbox's own
// set-up is paid once; peak-KiB is the largest resident set of one run.

// loop runs argv n times in the sandbox and returns the time taken.
func (sb sandbox) loop(b *testing.B, n int, argv ...string) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do "$@" >/dev/null || exit 98; i=$((i+1)); done`, n)
	cmd := sb.command(b, ctx, append([]string{"/bin/sh", "-c", script, "sh"}, argv...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%q in a loop: %v\n%s", argv, err, stderr.String())
	}
	return time.Since(start)
}

// peakKiB runs argv once in the sandbox and returns its peak resident set.
func (sb sandbox) peakKiB(b *testing.B, argv ...string) int64 {
	b.Helper()
	sb.peakFile = filepath.Join(b.TempDir(), "peak")
	cmd := sb.command(b, context.Background(), argv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%q: %v\n%s", argv, err, out)
	}
	data, err := os.ReadFile(sb.peakFile)
	if err != nil {
		b.Fatal(err)
	}
	peak, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return peak
}

// bigSubuid is a 100,000-line /etc/subuid in which the test user's two ranges
// stand near the end, among other users' lines, comments and blank lines.
func bigSubuid() string {
	var b strings.Builder
	for i := 0; i < 100000-2; i++ {
		switch {
		case i%1000 == 0:
			b.WriteString("# a comment\n")
		default:
			fmt.Fprintf(&b, "user%d:%d:65536\n", i, 100000+65536*i)
		}
	}
	b.WriteString("unshtest:100000:65536\nunshtest:300000000:65536\n")
	return b.String()
}

func BenchmarkDryRunMapAuto100k(b *testing.B) {
	needIntegration(b)
	sb := sandbox{subuid: bigSubuid(), subgid: subids}
	argv := []string{unshBin, "--dry-run", "--map-auto"}
	peak := sb.peakKiB(b, argv...)
	b.ResetTimer()
	elapsed := sb.loop(b, b.N, argv...)
	b.ReportMetric(float64(elapsed.Microseconds())/float64(b.N)/1000, "ms/run")
	b.ReportMetric(float64(peak), "peak-KiB")
}

// benchPair measures unsh and util-linux unshare side by side in one sandbox
// set-up each, alternating, and reports both and their ratio.
func benchPair(b *testing.B, unsh, unshare []string) {
	needIntegration(b)
	sb := sandbox{subuid: subids, subgid: subids}
	peak := sb.peakKiB(b, unsh...)
	b.ResetTimer()
	var mine, theirs time.Duration
	// Alternate in rounds so that a slow moment of the machine hits both.
	const rounds = 4
	for r := 0; r < rounds; r++ {
		n := max(1, b.N/rounds)
		mine += sb.loop(b, n, unsh...)
		theirs += sb.loop(b, n, unshare...)
	}
	runs := float64(rounds * max(1, b.N/rounds))
	b.ReportMetric(float64(mine.Microseconds())/runs/1000, "unsh-ms/run")
	b.ReportMetric(float64(theirs.Microseconds())/runs/1000, "unshare-ms/run")
	b.ReportMetric(float64(mine)/float64(theirs), "ratio")
	b.ReportMetric(float64(peak), "peak-KiB")
}

func BenchmarkRootTrue(b *testing.B) {
	benchPair(b, []string{unshBin, "-r", "--", "true"}, []string{"unshare", "-r", "true"})
}

func BenchmarkMapAutoTrue(b *testing.B) {
	benchPair(b, []string{unshBin, "--map-auto", "--", "true"}, []string{"unshare", "--map-auto", "-r", "true"})
}

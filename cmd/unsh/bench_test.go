package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// benchPair measures unsh and util-linux unshare side by side, in rounds
// that alternate them (so that a slow moment of the machine hits both), and
// reports the median round of each (spec §6 asks for medians). A third
// series runs /bin/true in the same loop: the loop's own fork and exec,
// which "net" subtracts from both before comparing.
func benchPair(b *testing.B, unsh, unshare []string) {
	needIntegration(b)
	sb := sandbox{subuid: subids, subgid: subids}
	peak := sb.peakKiB(b, unsh...)
	b.ResetTimer()
	const rounds = 9
	n := max(1, b.N/rounds)
	var mine, theirs, loop []float64
	perRun := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) / 1000 }
	for r := 0; r < rounds; r++ {
		mine = append(mine, perRun(sb.loop(b, n, unsh...)))
		theirs = append(theirs, perRun(sb.loop(b, n, unshare...)))
		loop = append(loop, perRun(sb.loop(b, n, "/bin/true")))
	}
	m, t, l := median(mine), median(theirs), median(loop)
	b.ReportMetric(m, "unsh-ms/run")
	b.ReportMetric(t, "unshare-ms/run")
	b.ReportMetric(m/t, "ratio")
	b.ReportMetric((m-l)/(t-l), "net-ratio")
	b.ReportMetric(float64(peak), "peak-KiB")
}

func median(values []float64) float64 {
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}

func BenchmarkRootTrue(b *testing.B) {
	benchPair(b, []string{unshBin, "-r", "--", "true"}, []string{"unshare", "-r", "true"})
}

func BenchmarkMapAutoTrue(b *testing.B) {
	benchPair(b, []string{unshBin, "--map-auto", "--", "true"}, []string{"unshare", "--map-auto", "-r", "true"})
}

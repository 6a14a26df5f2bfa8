// Go's stop-the-world, for comparison with bench/stw/harness.c: N
// goroutines spin in tight loops (Go 1.14+ preempts them asynchronously,
// with SIGURG), the main goroutine times runtime.ReadMemStats, which
// stops the world, reads the statistics and starts the world again.
//
// GOMAXPROCS is -procs (run.py passes N+1), or Go's default (the number
// of CPUs, or $GOMAXPROCS) without it.  With N+1 every goroutine has its
// own P and OS thread, as in the C programs, and a stop has to reach N
// threads of which (on 2 cores) some are not on a CPU.  With fewer Ps
// than goroutines, the spinners beyond GOMAXPROCS wait in Go's run queues
// and need no stopping, but the measuring goroutine competes with the
// spinners for a P: a call can then include waiting to get one back (Go
// preempts a running goroutine after 10 ms).
//
// Before each call, the measurer waits (runtime.Gosched) until every
// spinner's counter has moved since the last call.  No user code runs
// while Go's world is stopped, so unlike the C programs this one cannot
// check that the spinners stood still.
//
// Usage: stw-go [-n SPINNERS] [-r ROUNDS] [-w WARMUP] [-procs P]
// [-t TIMEOUT_S]; stdout as harness.c's (STW, SAMPLES_NS, SUMMARY).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// One cache line per counter, as in harness.c.
type progress struct {
	count uint64
	_     [56]byte
}

var quit uint32

func spin(p *progress) {
	var n uint64
	for atomic.LoadUint32(&quit) == 0 {
		n++
		atomic.StoreUint64(&p.count, n)
	}
}

func percentileUs(sorted []int64, p float64) float64 {
	k := int(p/100*float64(len(sorted)) + 0.999999)
	if k < 1 {
		k = 1
	}
	if k > len(sorted) {
		k = len(sorted)
	}
	return float64(sorted[k-1]) / 1000
}

func main() {
	n := flag.Int("n", 1, "spinning goroutines")
	rounds := flag.Int("r", 2000, "timed rounds")
	warmup := flag.Int("w", 20, "warm-up rounds, dropped")
	procs := flag.Int("procs", 0, "GOMAXPROCS (0: Go's default)")
	timeout := flag.Int("t", 10, "seconds per round before giving up")
	flag.Parse()
	if *n < 0 || *rounds < 1 || *warmup < 0 || *timeout < 1 || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *procs > 0 {
		runtime.GOMAXPROCS(*procs)
	}

	counters := make([]progress, *n)
	for i := range counters {
		go spin(&counters[i])
	}
	round := -1
	watchdog := time.AfterFunc(time.Duration(*timeout)*time.Second, func() {
		fmt.Fprintf(os.Stderr, "stw: go, %d spinner(s), round %d: DID NOT STOP within %d s\n",
			*n, round, *timeout)
		os.Exit(3)
	})
	snap := make([]uint64, *n)
	samples := make([]int64, 0, *rounds)
	var ms runtime.MemStats
	for r := 0; r < *warmup+*rounds; r++ {
		round = r
		watchdog.Reset(time.Duration(*timeout) * time.Second)
		for i := range counters {
			snap[i] = atomic.LoadUint64(&counters[i].count)
		}
		for i := 0; i < *n; {
			if atomic.LoadUint64(&counters[i].count) != snap[i] {
				i++
			} else {
				runtime.Gosched()
			}
		}
		t0 := time.Now()
		runtime.ReadMemStats(&ms)
		d := time.Since(t0)
		if r >= *warmup {
			samples = append(samples, d.Nanoseconds())
		}
	}
	watchdog.Stop()
	atomic.StoreUint32(&quit, 1)

	fmt.Printf("STW system=go threads=%d rounds=%d warmup=%d hold_us=0 gomaxprocs=%d\n",
		*n, *rounds, *warmup, runtime.GOMAXPROCS(0))
	var b strings.Builder
	b.WriteString("SAMPLES_NS")
	for _, s := range samples {
		fmt.Fprintf(&b, " %d", s)
	}
	fmt.Println(b.String())
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	fmt.Printf("SUMMARY p50_us=%.1f p99_us=%.1f max_us=%.1f\n",
		percentileUs(samples, 50), percentileUs(samples, 99),
		float64(samples[len(samples)-1])/1000)
}

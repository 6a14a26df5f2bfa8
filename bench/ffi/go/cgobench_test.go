// The cgo benchmarks of bench/ffi, run by ../run.py:
//
//	go test -bench . -benchtime 10ms -count 20
//
// Each benchmark checks its result against the plain sum (like
// ffibench.c's checksums) and reports cpu-share: the share of the wall
// time its thread (locked to the goroutine) was on a CPU, so that run.py
// can discard samples a busy machine descheduled.
package cgobench

import (
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

const chunk = 1000 // callbacks per C call in CgoCallbackLoop

// threadCPU is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID;
// getrusage's per-thread times lag behind over a few milliseconds).
func threadCPU() time.Duration {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// run times body(b.N) on a locked thread and checks its checksum.
func run(b *testing.B, body func(n int) uint64, want func(n int) uint64) {
	// The thread's CPU time is measured: keep the goroutine on it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	w0, c0 := time.Now(), threadCPU()
	got := body(b.N)
	c1, w1 := threadCPU(), time.Now()
	b.StopTimer()
	if got != want(b.N) {
		b.Fatalf("checksum %d after %d calls, expected %d", got, b.N, want(b.N))
	}
	if wall := w1.Sub(w0); wall > 0 {
		b.ReportMetric(float64(c1-c0)/float64(wall), "cpu-share")
	}
}

func plain(n int) uint64 {
	var acc uint64
	for i := 0; i < n; i++ {
		acc += uint64(i&1023) + 1
	}
	return acc
}

func loopSum(n int) uint64 {
	var acc uint64
	for done := 0; done < n; done += chunk {
		k := n - done
		if k > chunk {
			k = chunk
		}
		acc += uint64(k) * uint64(k-1) / 2
	}
	return acc
}

func BenchmarkGoCall(b *testing.B) {
	run(b, func(n int) uint64 {
		var acc uint64
		for i := 0; i < n; i++ {
			acc += uint64(GoAdd(i&1023, 1))
		}
		return acc
	}, plain)
}

func BenchmarkCgoCall(b *testing.B) {
	run(b, func(n int) uint64 {
		var acc uint64
		for i := 0; i < n; i++ {
			acc += uint64(Add(i&1023, 1))
		}
		return acc
	}, plain)
}

func BenchmarkCgoCallback(b *testing.B) {
	run(b, func(n int) uint64 {
		var acc uint64
		for i := 0; i < n; i++ {
			acc += uint64(CallBack(i&1023, 1))
		}
		return acc
	}, plain)
}

func BenchmarkCgoCallbackLoop(b *testing.B) {
	run(b, func(n int) uint64 {
		var acc uint64
		for done := 0; done < n; done += chunk {
			k := n - done
			if k > chunk {
				k = chunk
			}
			acc += uint64(CallBackN(k))
		}
		return acc
	}, loopSum)
}

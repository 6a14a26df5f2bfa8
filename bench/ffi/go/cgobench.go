// Package cgobench is the Go side of bench/ffi: the same calls as
// ffibench.c, made by cgo.  cgo cannot be used in _test.go files, so the
// calls are made here and timed by cgobench_test.go.
package cgobench

/*
int cgob_add(int a, int b);
int cgob_call1(int a, int b);
int cgob_calln(int n);
*/
import "C"

// Add calls C's a + b (a cgo call).
func Add(a, b int) int { return int(C.cgob_add(C.int(a), C.int(b))) }

// CallBack calls C, which calls goAdd back (a cgo call and a callback).
func CallBack(a, b int) int { return int(C.cgob_call1(C.int(a), C.int(b))) }

// CallBackN calls C, which calls goAdd back n times (acc = goAdd(acc, i)).
func CallBackN(n int) int { return int(C.cgob_calln(C.int(n))) }

//export goAdd
func goAdd(a, b C.int) C.int { return a + b }

// GoAdd is a plain Go call, not inlined.
//
//go:noinline
func GoAdd(a, b int) int { return a + b }

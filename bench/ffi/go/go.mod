module preempt/bench/ffi

go 1.19

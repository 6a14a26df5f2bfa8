module preempt/bench/stw

go 1.19

#!/usr/bin/env bash
# Installs what is missing, builds preempt, and runs the demo: a C program
# compiled with the plugin, its stack maps, and the program collecting.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say "compile examples/demo.c with the plugin"
echo "build/bin/preempt-cc -O2 -g -c examples/demo.c -o build/demo.o"
build/bin/preempt-cc -O2 -g -c examples/demo.c -o build/demo.o
say "its stack maps: build/bin/preempt-maps build/demo.o"
build/bin/preempt-maps build/demo.o
say "the same maps as LLVM sees them: llvm-readobj-19 --stackmap (first record)"
llvm-readobj-19 --stackmap build/demo.o | sed -n '1,/live-outs/p'
say "link with the runtime and run"
build/bin/preempt-cc build/demo.o -o build/demo
build/demo

#!/bin/sh
# Installs preempt into a scratch prefix and builds a user's program three
# ways: CMake find_package, pkg-config, and the preempt-cc wrapper.
#   run.sh BUILD_DIR SCRATCH_DIR
set -eu
build=$1 scratch=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$scratch"
mkdir -p "$scratch"
cmake --install "$build" --prefix "$scratch/prefix" > "$scratch/install.log"

cmake -S "$here/project" -B "$scratch/cmake" -DCMAKE_C_COMPILER=clang-19 \
  -DCMAKE_PREFIX_PATH="$scratch/prefix" > "$scratch/configure.log"
cmake --build "$scratch/cmake" > "$scratch/build.log"
"$scratch/cmake/consumer"

PKG_CONFIG_PATH="$scratch/prefix/lib/pkgconfig"
export PKG_CONFIG_PATH
# shellcheck disable=SC2046
clang-19 -O2 $(pkg-config --cflags preempt) "$here/project/main.c" \
  $(pkg-config --libs preempt) -o "$scratch/pc-consumer"
"$scratch/pc-consumer"

"$scratch/prefix/bin/preempt-cc" -O2 "$here/project/main.c" -o "$scratch/cc-consumer"
"$scratch/cc-consumer"
"$scratch/prefix/bin/preempt-maps" --summary "$scratch/cc-consumer" | grep -q records
# A Boehm GC program: preempt-cc --gc, pkg-config preempt-gc, and the
# bdw-gc name that autotools builds ask for.
"$scratch/prefix/bin/preempt-cc" --gc -O2 "$here/project/boehm.c" -o "$scratch/gc-cc"
"$scratch/gc-cc"
# shellcheck disable=SC2046
clang-19 -O2 $(pkg-config --cflags preempt-gc) "$here/project/boehm.c" \
  $(pkg-config --libs preempt-gc) -o "$scratch/gc-pc"
"$scratch/gc-pc"
PKG_CONFIG_PATH="$scratch/prefix/lib/preempt/pkgconfig"
# shellcheck disable=SC2046
clang-19 -O2 $(pkg-config --cflags bdw-gc) "$here/project/boehm.c" \
  $(pkg-config --libs bdw-gc) -o "$scratch/gc-bdw"
"$scratch/gc-bdw"
echo "install: ok"

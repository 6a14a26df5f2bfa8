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
echo "install: ok"

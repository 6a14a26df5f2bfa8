#!/usr/bin/env bash
# Installs the Debian 12 packages preempt needs, if any are missing.
# golang-go is the benchmarks' Go reference (bench/), not needed to build;
# the preempt-heap tests also read its profiles back with go tool pprof.
# chromium renders preempt-heap's HTML page in its test (headless).
# dpkg-dev: apt-get source, for the Debian sources the Boehm GC tests build.
# libncurses-dev: the terminal library w3m's configure requires (gccompat-w3m).
set -euo pipefail
pkgs=(clang-19 llvm-19 llvm-19-dev llvm-19-tools libclang-19-dev libclang-rt-19-dev
      lld-19 libcriterion-dev libffi-dev libgc-dev libelf-dev libdw-dev libmicrohttpd-dev
      cmake ninja-build make python3 pkg-config valgrind golang-go chromium
      dpkg-dev libncurses-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Runs the preempt-maps tests: tools/test/run.sh BUILD_DIR [TEST...]
#
# A test is a file in this directory (*.c, *.test) with lit-style lines
#   RUN: shell command
# (a trailing backslash continues a RUN line).  Each RUN line runs in bash
# with -e -o pipefail, after these substitutions:
#   %s  the test file        %S  this directory       %t  a scratch path
#   %cc clang-19 with the preempt plugin              %maps the tool
#   %crosscheck  crosscheck.py (the note against llvm-readobj --stackmap)
#   %python  python3         %valgrind  valgrind (or nothing if missing)
#   %expect_exit N CMD...    runs CMD, fails unless it exits with N
# Exits 0 if every test passed, 1 otherwise, 77 if the tools are missing.
set -u

if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR [TEST...]" >&2
  exit 2
fi
build=$(cd "$1" && pwd) || exit 2
shift
here=$(cd "$(dirname "$0")" && pwd)
maps=$build/bin/preempt-maps
plugin=$build/lib/preempt.so

for tool in clang-19 FileCheck-19 llvm-readobj-19 python3; do
  if ! command -v "$tool" > /dev/null; then
    echo "run.sh: $tool not found; skipping the preempt-maps tests" >&2
    exit 77
  fi
done
for f in "$maps" "$plugin"; do
  if [ ! -e "$f" ]; then
    echo "run.sh: $f missing (build first: ninja -C $build)" >&2
    exit 1
  fi
done
# llvm's `not` and friends, if a test wants them.
[ -d /usr/lib/llvm-19/bin ] && PATH=$PATH:/usr/lib/llvm-19/bin
scratch=$(mktemp -d "${TMPDIR:-/tmp}/preempt-maps-test.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
valgrind=""
if command -v valgrind > /dev/null; then
  # Its own messages go to a log (it complains about DWARF 5 it cannot
  # read); a memory error still shows as exit status 99.
  valgrind="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --log-file=$scratch/valgrind.%p.log"
  # An old valgrind may not read the tool's debug information at all.
  if ! $valgrind "$maps" --help > /dev/null 2>&1; then
    echo "run.sh: valgrind cannot run $maps; testing without it" >&2
    valgrind=""
  fi
  rm -f "$scratch"/valgrind.*.log
fi


# Helpers visible to RUN lines.
preamble='
expect_exit() {
  local want=$1; shift
  local st=0
  "$@" || st=$?
  if [ "$st" -ne "$want" ]; then
    echo "expected exit status $want, got $st: $*" >&2
    return 1
  fi
}
'

if [ $# -gt 0 ]; then
  tests=("$@")
else
  tests=("$here"/*.c "$here"/*.test)
fi

pass=0
fail=0
for test in "${tests[@]}"; do
  if [ ! -e "$test" ] && [ -e "$here/$test" ]; then
    test=$here/$test
  fi
  if [ ! -e "$test" ]; then
    echo "FAIL: $test: no such test"
    fail=$((fail + 1))
    continue
  fi
  test=$(cd "$(dirname "$test")" && pwd)/$(basename "$test")
  name=$(basename "$test")
  tmp=$scratch/$name.tmp
  mkdir -p "$scratch/$name.d"
  # Collect RUN lines, joining backslash continuations.
  runs=()
  cur=""
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      *RUN:*) ;;
      *) [ -z "$cur" ] && continue ;;
    esac
    if [ -z "$cur" ]; then
      body=${line#*RUN:}
    else
      body=${line#*//}
      body=${body#\#}
    fi
    case $body in
      *\\) cur="$cur${body%\\} " ;;
      *) runs+=("$cur$body"); cur="" ;;
    esac
  done < "$test"
  if [ ${#runs[@]} -eq 0 ]; then
    continue
  fi
  ok=1
  n=0
  for cmd in "${runs[@]}"; do
    n=$((n + 1))
    cmd=${cmd//%crosscheck/python3 $here/crosscheck.py $maps}
    cmd=${cmd//%expect_exit/expect_exit}
    cmd=${cmd//%valgrind/$valgrind}
    cmd=${cmd//%python/python3}
    cmd=${cmd//%maps/$maps}
    cmd=${cmd//%cc/clang-19 -fplugin=$plugin}
    cmd=${cmd//%s/$test}
    cmd=${cmd//%S/$here}
    cmd=${cmd//%t/$tmp}
    if ! (cd "$scratch/$name.d" &&
          bash -e -o pipefail -c "$preamble$cmd") > "$scratch/out" 2>&1; then
      echo "FAIL: $name (RUN line $n)"
      echo "  command: $cmd"
      cut -c1-300 "$scratch/out" | sed "s/^/  | /" | head -60
      for log in "$scratch"/valgrind.*.log; do
        [ -e "$log" ] && grep -q '==[0-9]*== [A-Z]' "$log" &&
          sed 's/^/  valgrind| /' "$log" | grep -v 'unhandled dwarf2' | head -40
      done
      ok=0
      break
    fi
  done
  rm -f "$scratch"/valgrind.*.log
  if [ $ok = 1 ]; then
    echo "PASS: $name (${#runs[@]} RUN lines)"
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
  fi
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]

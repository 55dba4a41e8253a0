#!/usr/bin/env bash
# Builds the libFuzzer targets for the file readers and the command-line parser (tools/fuzz/fuzz_*.cpp)
# with clang and runs each.
#
#   tools/run_fuzzers.sh [SECONDS] [TARGET...]     SECONDS per target, default 60;
#                                                  TARGET among: text npy idx gz dat mtx npz svm smtx cli
#                                                  (default: all; npz, svm and smtx: read_sparse_matrix)
#
# fuzz_cli splits its input into argv words at newlines and NULs and calls parse_cli (tools/cli.cpp); it
# links Boost.Program_options.
#
# Builds under build-fuzz/ (override with TREESNE_FUZZ_DIR). Each target's corpus lives in
# build-fuzz/corpus/TARGET, seeded from small valid files (tools/fuzz/make_seeds.cpp) and from the regression
# inputs in tests/data/fuzz/TARGET. Inputs that crash, hang or run out of memory are copied to
# tests/data/fuzz/TARGET, where test_io.cpp replays them; the script then exits non-zero.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(text npy idx gz dat mtx npz svm smtx cli); fi

out=${TREESNE_FUZZ_DIR:-$root/build-fuzz}
cxx=${CXX_FUZZ:-clang++}
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
       -I"$root/include" -I"$root/src" -I"$out/generated" -I"$root/tools")
mkdir -p "$out/obj" "$out/generated/treesne"

# treesne/version.hpp as CMake would generate it from project(VERSION).
version=$(sed -n 's/^project(treesne VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
IFS=. read -r major minor patch <<<"$version"
sed -e "s/@PROJECT_VERSION@/$version/" -e "s/@PROJECT_VERSION_MAJOR@/$major/" \
    -e "s/@PROJECT_VERSION_MINOR@/$minor/" -e "s/@PROJECT_VERSION_PATCH@/$patch/" \
    "$root/cmake/version.hpp.in" >"$out/generated/treesne/version.hpp.new"
cmp -s "$out/generated/treesne/version.hpp.new" "$out/generated/treesne/version.hpp" ||
    mv "$out/generated/treesne/version.hpp.new" "$out/generated/treesne/version.hpp"
rm -f "$out/generated/treesne/version.hpp.new"

# The object file of a source: its folder and basename (src/io/sparse.cpp -> io_sparse.o).
obj_name() {
    echo "$(basename "$(dirname "$1")")_$(basename "$1" .cpp).o"
}

# Rebuilds $1 from the sources after it unless it is newer than all of them.
stale() {
    local target=$1 src
    shift
    [ -e "$target" ] || return 0
    for src in "$@"; do [ "$src" -nt "$target" ] && return 0; done
    return 1
}

# The readers (src/io, less the checkpoint and its Session) and the command-line parser with the option
# table it reads; object files are named by folder and source basename (io/sparse.cpp, core/sparse.cpp).
lib_sources=("$root"/src/io/{io,gzip,text,labels,binary,npy,idx,dat,mtx,atomic_file,sparse,svmlight,npz,zip}.cpp
             "$root"/src/core/{types,system_memory,sparse}.cpp)
cli_sources=("$root"/tools/cli{,_values,_options,_help}.cpp "$root"/src/core/{options,option_table,option_entries}.cpp)
headers=("$root"/include/treesne/*/*.hpp "$root"/src/io/internal.hpp "$root"/src/core/option_entries.hpp
         "$root/tools/fuzz/fuzz_common.hpp" "$root/tools/fuzz/format_bytes.hpp" "$root"/tools/cli*.hpp)
for src in "${lib_sources[@]}" "${cli_sources[@]}"; do
    obj="$out/obj/$(obj_name "$src")"
    if stale "$obj" "$src" "${headers[@]}"; then
        echo "compiling $(basename "$src")"
        "$cxx" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
    fi
done
if stale "$out/make_seeds" "$root/tools/fuzz/make_seeds.cpp" "${lib_sources[@]}" "${headers[@]}"; then
    echo "compiling make_seeds"
    "$cxx" -std=c++17 -O1 -I"$root/include" -I"$root/src" "$root/tools/fuzz/make_seeds.cpp" "${lib_sources[@]}" -lz \
        -o "$out/make_seeds"
fi
"$out/make_seeds" "$out/seeds"

status=0
for t in "${targets[@]}"; do
    bin="$out/fuzz_$t"
    objs=()
    for src in "${lib_sources[@]}"; do objs+=("$out/obj/$(obj_name "$src")"); done
    libs=(-lz)
    if [ "$t" = cli ]; then
        for src in "${cli_sources[@]}"; do objs+=("$out/obj/$(obj_name "$src")"); done
        libs+=(-lboost_program_options)
    fi
    # The sparse readers share one target source, told the file suffix that picks the format.
    source_file="$root/tools/fuzz/fuzz_$t.cpp"
    defines=()
    case $t in
        npz | svm) source_file="$root/tools/fuzz/fuzz_sparse.cpp" defines=(-DTREESNE_FUZZ_SUFFIX="\".$t\"") ;;
        smtx) source_file="$root/tools/fuzz/fuzz_sparse.cpp" defines=(-DTREESNE_FUZZ_SUFFIX="\".mtx\"") ;;
    esac
    if stale "$bin" "$source_file" "${objs[@]}"; then
        echo "compiling fuzz_$t"
        "$cxx" "${flags[@]}" "${defines[@]}" -fsanitize=fuzzer "$source_file" "${objs[@]}" "${libs[@]}" -o "$bin"
    fi
    corpus="$out/corpus/$t"
    artifacts="$out/artifacts/$t"
    regressions="$root/tests/data/fuzz/$t"
    mkdir -p "$corpus" "$artifacts"
    if [ -d "$out/seeds/$t" ]; then cp -n "$out/seeds/$t"/* "$corpus"/; fi
    # The sparse readers start from the committed fixtures of tests/data/sparse (scipy's own files).
    case $t in
        npz) cp -n "$root"/tests/data/sparse/*.npz "$corpus"/ ;;
        svm) cp -n "$root"/tests/data/sparse/*.svm "$root"/tests/data/sparse/*.svmlight "$corpus"/ ;;
        smtx) cp -n "$root"/tests/data/sparse/*.mtx "$corpus"/ ;;
    esac
    if [ -d "$regressions" ]; then cp -n "$regressions"/* "$corpus"/ 2>/dev/null || true; fi
    echo "=== fuzz_$t for ${seconds}s"
    if ! "$bin" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 2>"$out/fuzz_$t.log"; then
        status=1
        echo "fuzz_$t FAILED; see $out/fuzz_$t.log"
        mkdir -p "$regressions"
        for a in "$artifacts"/*; do
            [ -e "$a" ] || continue
            cp "$a" "$regressions/$(basename "$a")"
            echo "  kept $(basename "$a") in tests/data/fuzz/$t/"
        done
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs" "$out/fuzz_$t.log" || true
done
exit $status

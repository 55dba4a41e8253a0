#!/usr/bin/env bash
# The distributed run against the single process on this machine: R ranks x 1 thread against one
# process x R threads, same input, same options; wall time (medians), each rank's peak RSS, and the
# bytes each rank sent (TREESNE_MPI_TRAFFIC), per stage (a 1-iteration run) and per iteration (the
# difference to a 101-iteration run, over 100).
#
#   benchmarks/mpi.sh INPUT.npy [--ranks 2] [--reps 3] [--build DIR] [extra embed options...]
#
# The MPI build is configured in DIR (default build-mpi) with -DTREESNE_MPI=ON. Every pair also checks
# that both embeddings are the same bytes.
set -euo pipefail
input="$(realpath "$1")"; shift
ranks=2; reps=3; build="$(cd "$(dirname "$0")/.." && pwd)/build-mpi"; extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --ranks) ranks=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        *) extra+=("$1"); shift ;;
    esac
done
root="$(cd "$(dirname "$0")/.." && pwd)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTREESNE_NATIVE=ON -DTREESNE_MPI=ON \
    -DTREESNE_BUILD_TESTS=OFF -DTREESNE_BUILD_BENCHMARKS=OFF > /dev/null
cmake --build "$build" --target treesne_cli > /dev/null
treesne="$build/tools/treesne"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
mpi=(mpirun --quiet --oversubscribe -np "$ranks")
rank_rss() {  # the ranks' peak RSS in MiB, "a b ..."
    local out=() f; for f in "$work"/rss.*; do out+=("$(( $(cat "$f") / 1024 ))"); done; echo "${out[*]}"
}
echo "input $(basename "$input"), $ranks ranks x 1 thread against 1 process x $ranks threads, ${extra[*]:-defaults}"
for rep in $(seq 1 "$reps"); do
    rm -f "$work"/rss.*
    /usr/bin/time -f "%e %M" -o "$work/single.time" "$treesne" embed "$input" -o "$work/single.npy" -q \
        --threads "$ranks" "${extra[@]}"
    start=$(date +%s.%N)
    "${mpi[@]}" sh -c '/usr/bin/time -f %M -o "$0/rss.$OMPI_COMM_WORLD_RANK" "$@"' "$work" \
        "$treesne" embed "$input" -o "$work/dist.npy" -q --threads 1 "${extra[@]}"
    end=$(date +%s.%N)
    read -r s_wall s_rss < "$work/single.time"
    d_wall=$(echo "$end - $start" | bc)
    same=$(cmp -s "$work/single.npy" "$work/dist.npy" && echo same || echo DIFFERENT)
    printf 'rep %d: single %.2f s %d MiB | distributed %.2f s, ranks %s MiB | ratio %.3f | embeddings %s\n' \
        "$rep" "$s_wall" $((s_rss / 1024)) "$d_wall" "$(rank_rss)" "$(echo "$d_wall / $s_wall" | bc -l)" "$same"
done
for it in 1 101; do
    TREESNE_MPI_TRAFFIC=1 "${mpi[@]}" "$treesne" embed "$input" -o "$work/t.npy" -q --threads 1 \
        --iterations "$it" "${extra[@]}" 2> "$work/traffic.$it" || true
    echo "iterations $it: $(grep -h 'sent' "$work/traffic.$it" | sort | tr '\n' ';')"
done

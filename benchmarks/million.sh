#!/usr/bin/env bash
# One embedding of a million points: time and peak memory of `treesne embed` at scale.
#
#   benchmarks/million.sh [--n 1000000] [--dims 50] [--clusters 20] [--threads 2] [--iterations 1000]
#                         [--build DIR] [--out DIR] [-- EXTRA treesne embed OPTIONS]
#
# Generates N clustered points in D dimensions (treesne_make_clusters, seeded; kept for later runs), then
# runs `treesne embed` under /usr/bin/time -v with --verbose progress (the memory estimate, each stage's
# time, a line every 50 iterations) and a checkpoint every 250 iterations, so that a run that is stopped
# can be continued with `treesne embed ... --resume OUT/checkpoint.ckpt`. Writes under OUT (default
# benchmarks/out/million): the data, embedding.npy, embedding.png, embed.log (stderr of the run, with
# time -v's report at its end) and summary.txt (wall time, peak RSS, the estimate and the stage times).
# Not part of the tests: at N = 10^6, D = 50 it takes tens of minutes on two cores and about 6 GiB.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
n=1000000
dims=50
clusters=20
threads=2
iterations=1000
build="$root/build-release"
out="$here/out/million"
extra=()

bench_parse_options "n dims clusters threads iterations build out" "$@"

bench_require_time
bench_build "$build" treesne_cli treesne_make_clusters

mkdir -p "$out"
data="$out/clusters_${n}x${dims}.npy"
labels="$out/clusters_${n}x${dims}_labels.txt"
if [[ ! -s "$data" || ! -s "$labels" ]]; then
    echo "generating $data"
    "$build/benchmarks/treesne_make_clusters" "$n" "$dims" "$clusters" "$data" "$labels" 1
fi

log="$out/embed.log"
echo "embedding $n x $dims on $threads threads, $iterations iterations; log in $log"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
status=0
/usr/bin/time -v "$build/tools/treesne" embed "$data" -o "$out/embedding.npy" --threads "$threads" \
    --iterations "$iterations" --verbose --log-every 50 --checkpoint "$out/checkpoint.ckpt" \
    --checkpoint-every 250 --plot "$out/embedding.png" --labels "$labels" "${extra[@]}" 2>"$log" || status=$?

{
    echo "treesne embed, $n x $dims ($clusters clusters), $threads threads, $iterations iterations"
    echo "started $started, exit status $status"
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    grep -E '^(read|memory|settings|pca|neighbours|affinities|init|write|plot):|^optimise: [0-9]+ iterations' \
        "$log" || true
    grep -E 'optimise: [0-9]+/' "$log" | tail -1 || true
    grep -E 'Elapsed \(wall clock\)|Maximum resident set size|User time|System time|Percent of CPU' "$log" |
        sed 's/^[[:space:]]*//' || true
} >"$out/summary.txt"
cat "$out/summary.txt"
exit "$status"

#!/usr/bin/env bash
# Degenerate inputs at benchmark size: time, peak memory and outcome of `treesne embed` on each input
# class of benchmarks/make_degenerate.cpp (duplicates, ties, constant data, extreme magnitudes), next to
# Gaussian data of the same shape as the yardstick.
#
#   benchmarks/degenerate.sh [--n 20000] [--threads 2] [--build DIR] [--out DIR]
#
# Writes under OUT (default benchmarks/out/degenerate): each data set, its embedding and log, and
# summary.md, a table of exit status, wall seconds, peak RSS, the final KL as embed reports it, and
# `treesne evaluate`'s exact KL and 10-NN preservation. The tests (tests/test_hardening.cpp) cover the same classes at small N.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
n=20000
threads=2
build="$root/build-release"
out="$here/out/degenerate"

bench_parse_options "n threads build out" "$@"

bench_require_time
bench_build "$build" treesne_cli treesne_make_degenerate

mkdir -p "$out"
summary="$out/summary.md"
{
    echo "treesne embed on degenerate inputs, N = $n, $threads threads, defaults otherwise ($(date -u +%Y-%m-%d), $(nproc) cores)"
    echo
    echo "| input | D | exit | wall s | peak MiB | KL (embed) | exact KL | 10-NN preserved | outcome |"
    echo "|---|---|---|---|---|---|---|---|---|"
} >"$summary"

for case in gaussian:10 duplicates:10 duplicates:3 copies:10 grid:3 grid:10 identical:10 constant:10 \
            near:10 huge:10 tiny:10; do
    kind="${case%%:*}"
    dims="${case##*:}"
    name="${kind}_${dims}d"
    data="$out/$name.npy"
    [[ -s "$data" ]] || "$build/benchmarks/treesne_make_degenerate" "$kind" "$n" "$dims" "$data"
    log="$out/$name.log"
    timing="$out/$name.time"
    echo "== $name"
    status=0
    /usr/bin/time -v -o "$timing" "$build/tools/treesne" embed "$data" -o "$out/$name.emb.npy" \
        --threads "$threads" --log-every 250 2>"$log" || status=$?
    wall=$(bench_wall_seconds "$timing")
    peak=$(bench_rss_mib "$timing")
    kl=$(sed -n 's/^optimise: [0-9]* iterations, KL \([0-9.e+-]*\).*/\1/p' "$log" | tail -1)
    exact="-"
    kept="-"
    outcome="finished"
    if [[ $status -ne 0 ]]; then
        outcome="refused: $(tail -1 "$log" | cut -c1-80)"
    else
        json=$("$build/tools/treesne" evaluate "$data" "$out/$name.emb.npy" --threads "$threads" --json \
               2>/dev/null || true)
        exact=$(sed -n 's/.*"kl_divergence": *\([0-9.e+-]*\).*/\1/p' <<<"$json")
        kept=$(sed -n 's/.*"knn_preservation": *\([0-9.e+-]*\).*/\1/p' <<<"$json")
    fi
    echo "| $kind | $dims | $status | $wall | $peak | ${kl:--} | ${exact:--} | ${kept:--} | $outcome |" >>"$summary"
    tail -1 "$summary"
done
echo
cat "$summary"

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

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
n=20000
threads=2
build="$root/build-release"
out="$here/out/degenerate"

while [[ $# -gt 0 ]]; do
    case "$1" in
        --n) n="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --build) build="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "degenerate.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [[ ! -x /usr/bin/time ]]; then
    echo "degenerate.sh: needs GNU time (/usr/bin/time; Debian package 'time')" >&2
    exit 1
fi
if [[ ! -x "$build/tools/treesne" || ! -x "$build/benchmarks/treesne_make_degenerate" ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTREESNE_NATIVE=ON >/dev/null
fi
cmake --build "$build" --target treesne_cli treesne_make_degenerate >/dev/null

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
    echo "== $name"
    status=0
    /usr/bin/time -f 'TIME %e %M' "$build/tools/treesne" embed "$data" -o "$out/$name.emb.npy" \
        --threads "$threads" --log-every 250 2>"$log" || status=$?
    wall=$(awk '/^TIME/ {print $2}' "$log")
    peak=$(awk '/^TIME/ {printf "%.0f", $3 / 1024}' "$log")
    kl=$(sed -n 's/^optimise: [0-9]* iterations, KL \([0-9.e+-]*\).*/\1/p' "$log" | tail -1)
    exact="-"
    kept="-"
    outcome="finished"
    if [[ $status -ne 0 ]]; then
        outcome="refused: $(grep -v '^TIME' "$log" | tail -1 | cut -c1-80)"
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

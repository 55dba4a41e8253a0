#!/usr/bin/env bash
# Speed and quality of treesne against scikit-learn's and Rtsne's Barnes-Hut t-SNE on Fashion-MNIST.
#
#   benchmarks/peers.sh [--sizes 5000,20000,70000] [--reps 3] [--threads 2] [--tools treesne,rtsne,sklearn]
#                       [--sklearn-max 20000] [--rtsne-max 70000] [--large 50000] [--large-reps 1]
#                       [--first-rep 1] [--build DIR] [--out DIR]
#
# Every tool reads the same PCA-50 matrix (written once by treesne_prepare_data) and runs the same
# protocol: perplexity 30, 2-D, 1000 iterations, exaggeration 12 for 250, theta/angle 0.5, PCA init,
# the same thread count. Tools alternate within each repetition so machine drift hits all of them.
# Wall time and peak RSS come from /usr/bin/time -v; quality from `treesne evaluate` on every tool's
# embedding of the first repetition (all three tools are deterministic for a fixed seed).
# Raw results: OUT/runs.csv, OUT/quality.csv, logs and embeddings under OUT; OUT/summary.md is the table.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
sizes=5000,20000,70000
reps=3
threads=2
tools=treesne,rtsne,sklearn
sklearn_max=20000   # sklearn takes ~25 min at 70k on 2 cores
rtsne_max=70000
large=50000         # sizes at or above this run --large-reps repetitions
large_reps=1
first_rep=1         # to add repetitions to an earlier run: --first-rep 2 --reps 3 runs 2 and 3
build="$root/build-bench"
out="$here/out/peers"

bench_parse_options "sizes reps threads tools sklearn_max rtsne_max large large_reps first_rep build out" "$@"

# --- peers and tools, installed only when missing ------------------------------------------------
bench_install_missing python3-sklearn r-cran-rtsne time

# Configure once; build every time (incremental), so the binary measured is the working tree's.
bench_build "$build" treesne_cli treesne_prepare_data
treesne="$build/tools/treesne"
data="$here/out/data"
mkdir -p "$out/emb" "$out/logs"

# --- the shared inputs ----------------------------------------------------------------------------
need=()
for n in ${sizes//,/ }; do
    [[ -f "$data/fmnist50_$n.npy" && -f "$data/fmnist50_$n.csv" && -f "$data/labels_$n.txt" ]] || need+=("$n")
done
if [[ ${#need[@]} -gt 0 ]]; then
    list=$(IFS=,; echo "${need[*]}")
    "$build/benchmarks/treesne_prepare_data" --out "$data" --sizes "$list" --threads "$threads"
fi

# --- one timed run ----------------------------------------------------------------------------------
[[ -f "$out/runs.csv" ]] || echo "tool,n,rep,threads,wall_s,max_rss_mb,exit,load1,date" > "$out/runs.csv"
[[ -f "$out/quality.csv" ]] || echo "tool,n,kl,knn_preservation,trustworthiness,knn_accuracy" > "$out/quality.csv"

run_tool() {  # tool n rep
    local tool=$1 n=$2 rep=$3 in="$data/fmnist50_$2" emb log timing rc=0
    log="$out/logs/${tool}_${n}_r${rep}.log"
    timing="$out/logs/${tool}_${n}_r${rep}.time"
    case "$tool" in
        treesne)
            emb="$out/emb/treesne_$n.npy"
            cmd=("$treesne" embed "$in.npy" -o "$emb" --threads "$threads" --seed 42 --verbose) ;;
        sklearn)
            emb="$out/emb/sklearn_$n.npy"
            cmd=(/usr/bin/python3 "$here/run_sklearn.py" "$in.npy" "$emb" --threads "$threads" --seed 42) ;;
        rtsne)
            emb="$out/emb/rtsne_$n.csv"
            cmd=(Rscript "$here/run_rtsne.R" "$in.csv" "$emb" "$threads" 42) ;;
    esac
    local load1; load1=$(cut -d' ' -f1 /proc/loadavg)
    echo "[$(date +%T)] $tool n=$n rep=$rep (load $load1): ${cmd[*]}" >&2
    /usr/bin/time -v -o "$timing" "${cmd[@]}" > "$log" 2>&1 || rc=$?
    echo "$tool,$n,$rep,$threads,$(bench_wall_seconds "$timing"),$(bench_rss_mib "$timing"),$rc,$load1,$(date -Iseconds)" >> "$out/runs.csv"
    tail -n 1 "$log" >&2
    if [[ $rc -eq 0 && $rep -eq 1 ]]; then
        local q="$out/logs/${tool}_${n}_evaluate.json"
        if "$treesne" evaluate "$in.npy" "$emb" --labels "$data/labels_$n.txt" --json --threads "$threads" > "$q" 2>> "$log"; then
            bench_quality_row "$q" "$tool" "$n" >> "$out/quality.csv"
        fi
    fi
}

for n in ${sizes//,/ }; do
    r=$reps
    [[ $n -ge $large ]] && r=$large_reps
    for ((rep = first_rep; rep <= r; rep++)); do
        for tool in ${tools//,/ }; do
            [[ $tool == sklearn && $n -gt $sklearn_max ]] && continue
            [[ $tool == rtsne && $n -gt $rtsne_max ]] && continue
            run_tool "$tool" "$n" "$rep"
        done
    done
done

/usr/bin/python3 "$here/summarize.py" "$out" > "$out/summary.md"
cat "$out/summary.md"

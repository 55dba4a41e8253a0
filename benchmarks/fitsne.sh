#!/usr/bin/env bash
# Speed and quality of FIt-SNE (KlugerLab's FFT-accelerated t-SNE, C++) on the peers' Fashion-MNIST data,
# for a side-by-side comparison with treesne (benchmarks/peers.sh).
#
#   benchmarks/fitsne.sh [--sizes 5000,20000,70000] [--reps 3] [--threads 2] [--src DIR]
#                        [--build-dir DIR] [--treesne PATH] [--build DIR] [--out DIR]
#
# No FIt-SNE code lives in this repository: the script builds it at run time, outside the project's
# build tree, from --src: a FIt-SNE source tree or a git directory (bare or not) to take HEAD from.
# Default: $FITSNE_SRC, else the offline mirror /work/.mirror/KlugerLab+FIt-SNE*. It is built into
# --build-dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/treesne-peers/fitsne) with FIt-SNE's README
# command, g++ -std=c++11 -O3 -pthread -lfftw3 -lm (no -march=native: FIt-SNE's build does not use
# it), and rebuilt only when the source changes. Needs FFTW (libfftw3-dev), g++, python3-numpy and
# GNU time; missing ones are installed with apt-get, as peers.sh does.
#
# Input: the same PCA-50 matrix as the peers (benchmarks/out/data/fmnist50_N.npy, labels_N.txt; made
# with treesne_prepare_data, built in --build, default build-bench, when missing). Protocol: FFT
# gradient (nbody_algo FFT, its interpolation defaults: 3 terms, 1 interval per integer, at least 50
# intervals), Annoy kNN (50 trees), perplexity 30, 2-D, 1000 iterations, exaggeration 12 for 250,
# momentum 0.5 then 0.8 from 250, learning rate max(200, N/12), max step norm 5, seed 42, --threads
# threads: fast_tsne.py's defaults except max_iter (750 there). Initialisation: fast_tsne.py's
# default 'pca', reproduced with numpy: the first two principal components of the input (signs as
# scikit-learn's svd_flip), both divided by the first's standard deviation and multiplied by 0.0001.
# Writing FIt-SNE's binary input file (format of fast_tsne.py, version checked against the source)
# and the PCA are done once per size, untimed; each timed run is the fast_tsne binary alone (read,
# kNN, affinities, optimisation, write), under /usr/bin/time -v: wall time and peak RSS. Quality: `treesne
# evaluate` (exact KL, 10-NN preservation, trustworthiness, 10-NN accuracy) of the first
# repetition's embedding.
# Outputs: OUT/runs.csv (tool,n,rep,wall_s,peak_mb; a size's rows are replaced when it is run
# again), OUT/quality.csv, OUT/summary.md (one row per N), embeddings OUT/emb/fitsne_N.npy, logs
# and GNU time reports under OUT/logs, the FIt-SNE version in OUT/version.txt. OUT defaults to
# benchmarks/out/fitsne.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
sizes=5000,20000,70000
reps=3
threads=2
src="${FITSNE_SRC:-}"
build_dir="${XDG_CACHE_HOME:-$HOME/.cache}/treesne-peers/fitsne"
treesne="$root/build/tools/treesne"
build="$root/build-bench"
out="$here/out/fitsne"

bench_parse_options "sizes reps threads src build_dir treesne build out" "$@"
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || bench_fail 2 "--reps must be a positive integer"
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || bench_fail 2 "--threads must be a positive integer"
[[ "$sizes" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || bench_fail 2 "--sizes must be a comma-separated list of sizes"

# --- tools, installed only when missing ----------------------------------------------------------
bench_install_missing libfftw3-dev g++ python3-numpy time
bench_require_time
[[ -x "$treesne" ]] || bench_fail 1 "no treesne binary at $treesne (build it, or pass --treesne PATH)"

# --- FIt-SNE's source: a source tree, or a git directory to take HEAD from ---------------------------
if [[ -z "$src" ]]; then
    for d in /work/.mirror/KlugerLab+FIt-SNE*; do [[ -d "$d" ]] && { src="$d"; break; }; done
fi
[[ -n "$src" && -d "$src" ]] ||
    bench_fail 1 "no FIt-SNE source found: pass --src DIR (a FIt-SNE source tree or git dir) or set FITSNE_SRC"
src="$(cd "$src" && pwd)"
src_git="" src_tree=""
if [[ -f "$src/src/tsne.cpp" ]]; then
    src_tree="$src"
else
    for g in "$src" "$src/.git" "$src/repo" "$src/repo/.git"; do
        if [[ -d "$g" ]] && git --git-dir="$g" rev-parse --verify -q 'HEAD^{commit}' >/dev/null 2>&1; then
            src_git="$g"; break
        fi
    done
    [[ -n "$src_git" ]] || bench_fail 1 "no FIt-SNE source in $src (neither src/tsne.cpp nor a git directory)"
fi
if [[ -n "$src_git" ]]; then
    commit=$(git --git-dir="$src_git" rev-parse 'HEAD^{commit}')
    version="$commit ($(git --git-dir="$src_git" describe --tags --always HEAD 2>/dev/null || echo "no tag"))"
    stamp="git $commit"
elif git -C "$src_tree" rev-parse --verify -q 'HEAD^{commit}' >/dev/null 2>&1 &&
     [[ -z "$(git -C "$src_tree" status --porcelain -- src 2>/dev/null)" ]]; then
    commit=$(git -C "$src_tree" rev-parse 'HEAD^{commit}')
    version="$commit ($(git -C "$src_tree" describe --tags --always HEAD 2>/dev/null || echo "no tag"))"
    stamp="git $commit"
else
    stamp="tree $(cat "$src_tree"/src/*.cpp "$src_tree"/src/*.h | sha256sum | cut -c1-16)"
    version="source tree $src_tree, sources $stamp"
fi

# --- build, outside the project, only when the source changed ---------------------------------------
# Flags: FIt-SNE's README command for Linux (g++ -std=c++11 -O3 ... -pthread -lfftw3 -lm
# -Wno-address-of-packed-member); no -march=native, which FIt-SNE's own build does not use.
fitsne_flags=(-std=c++11 -O3 -pthread)
fitsne="$build_dir/bin/fast_tsne"
if [[ ! -x "$fitsne" || "$(cat "$build_dir/STAMP" 2>/dev/null)" != "$stamp" ]]; then
    echo "building FIt-SNE $version in $build_dir" >&2
    rm -rf "$build_dir/source" "$build_dir/STAMP"
    mkdir -p "$build_dir/source" "$build_dir/bin"
    if [[ -n "$src_git" ]]; then
        git --git-dir="$src_git" archive HEAD | tar -x -C "$build_dir/source"
    else
        cp -R "$src_tree/." "$build_dir/source/"
    fi
    (cd "$build_dir/source" &&
        g++ "${fitsne_flags[@]}" src/sptree.cpp src/tsne.cpp src/nbodyfft.cpp -o "$fitsne" \
            -lfftw3 -lm -Wno-address-of-packed-member) ||
        bench_fail 1 "building FIt-SNE failed (see the compiler's messages above)"
    echo "$stamp" > "$build_dir/STAMP"
    echo "$version" > "$build_dir/VERSION"
fi
# fast_tsne refuses a wrapper of another version: pass it the one its main() expects.
fitsne_version=$(sed -n 's/.*version_number\[\] *= *"\([^"]*\)".*/\1/p' "$build_dir/source/src/tsne.cpp" | head -n 1)
[[ -n "$fitsne_version" ]] || bench_fail 1 "cannot read FIt-SNE's version number from its src/tsne.cpp"
grep -q 'fread(min_num_intervals' "$build_dir/source/src/tsne.cpp" &&
    grep -q 'fread(max_step_norm' "$build_dir/source/src/tsne.cpp" ||
    bench_fail 1 "FIt-SNE $fitsne_version reads another input format than this script writes (1.2.x's)"

# --- the shared inputs ----------------------------------------------------------------------------
data="$here/out/data"
need=()
for n in ${sizes//,/ }; do
    [[ -f "$data/fmnist50_$n.npy" && -f "$data/fmnist50_$n.csv" && -f "$data/labels_$n.txt" ]] || need+=("$n")
done
if [[ ${#need[@]} -gt 0 ]]; then
    bench_build "$build" treesne_prepare_data
    list=$(IFS=,; echo "${need[*]}")
    "$build/benchmarks/treesne_prepare_data" --out "$data" --sizes "$list" --threads "$threads"
fi

mkdir -p "$out/emb" "$out/logs" "$out/work"
echo "FIt-SNE $fitsne_version, $version; g++ ${fitsne_flags[*]}; init: PCA scaled to std 0.0001 (fast_tsne.py's 'pca')" \
    > "$out/version.txt"
# A size run again replaces its earlier rows.
for f in runs.csv quality.csv; do
    [[ -f "$out/$f" ]] || continue
    awk -F, -v sizes=",$sizes," 'NR == 1 || index(sizes, "," $2 ",") == 0' "$out/$f" > "$out/$f.tmp"
    mv "$out/$f.tmp" "$out/$f"
done
[[ -f "$out/runs.csv" ]] || echo "tool,n,rep,wall_s,peak_mb" > "$out/runs.csv"
[[ -f "$out/quality.csv" ]] || echo "tool,n,kl,knn_preservation,trustworthiness,knn_accuracy" > "$out/quality.csv"

# FIt-SNE's input file, in fast_tsne.py's layout (native byte order): n, d (int32), theta, perplexity
# (double), no_dims, max_iter, stop_early_exag_iter, mom_switch_iter (int), momentum, final_momentum,
# learning_rate, max_step_norm (double), K (int), sigma (double), nbody_algo, knn_algo (int),
# early_exag_coeff (double), no_momentum_during_exag, n_trees, search_k, start_late_exag_iter (int),
# late_exag_coeff (double), nterms (int), intervals_per_integer (double), min_num_intervals (int),
# X (n x d doubles, row-major), seed (int), df (double), load_affinities (int), initialisation
# (n x no_dims doubles).
write_input() {  # npy dat
    /usr/bin/python3 - "$1" "$2" <<'PY'
import struct, sys
import numpy as np
X = np.ascontiguousarray(np.load(sys.argv[1]), dtype=np.float64)
n, d = X.shape
perplexity, n_trees, exag = 30.0, 50, 12.0
# fast_tsne.py's initialization='pca': PCA scores (sklearn's svd_flip signs), / std of the first, * 1e-4
Xc = X - X.mean(axis=0)
U, S, _ = np.linalg.svd(Xc, full_matrices=False)
U = U[:, :2]
U *= np.sign(U[np.abs(U).argmax(axis=0), range(2)])
init = U * S[:2]
init = init / np.std(init[:, 0]) * 0.0001
with open(sys.argv[2], "wb") as f:
    w = lambda fmt, *v: f.write(struct.pack("=" + fmt, *v))
    w("i", n); w("i", d)
    w("d", 0.5)                          # theta (nonzero: approximate; FFT below)
    w("d", perplexity)
    w("i", 2)                            # map_dims
    w("i", 1000)                         # max_iter
    w("i", 250)                          # stop_early_exag_iter
    w("i", 250)                          # mom_switch_iter
    w("d", 0.5); w("d", 0.8)             # momentum, final_momentum
    w("d", max(200.0, n / exag))         # learning_rate 'auto'
    w("d", 5.0)                          # max_step_norm
    w("i", -1); w("d", -1.0)             # K, sigma (perplexity calibration)
    w("i", 2)                            # nbody_algo: FFT
    w("i", 1)                            # knn_algo: Annoy
    w("d", exag)                         # early_exag_coeff
    w("i", 0)                            # no_momentum_during_exag
    w("i", n_trees)
    w("i", int(3 * perplexity * n_trees))  # search_k
    w("i", -1); w("d", -1.0)             # start_late_exag_iter, late_exag_coeff (none)
    w("i", 3); w("d", 1.0); w("i", 50)   # nterms, intervals_per_integer, min_num_intervals
    f.write(X.tobytes())
    w("i", 42)                           # seed
    w("d", 1.0)                          # df
    w("i", 0)                            # load_affinities: neither
    f.write(np.ascontiguousarray(init, dtype=np.float64).tobytes())
PY
}

read_result() {  # dat npy n
    /usr/bin/python3 - "$@" <<'PY'
import sys
import numpy as np
raw = open(sys.argv[1], "rb").read()
n, d = np.frombuffer(raw, dtype=np.int32, count=2)
Y = np.frombuffer(raw, dtype=np.float64, count=int(n) * int(d), offset=8).reshape(int(n), int(d))
if n != int(sys.argv[3]) or d != 2 or not np.isfinite(Y).all():
    sys.exit(f"bad FIt-SNE result: {n} x {d}, finite: {bool(np.isfinite(Y).all())}")
np.save(sys.argv[2], Y)
PY
}

# --- the runs --------------------------------------------------------------------------------------
for n in ${sizes//,/ }; do
    in="$data/fmnist50_$n"
    dat="$out/work/fitsne_$n.dat"
    write_input "$in.npy" "$dat"
    for ((rep = 1; rep <= reps; rep++)); do
        log="$out/logs/fitsne_${n}_r${rep}.log"
        timing="$out/logs/fitsne_${n}_r${rep}.time"
        result="$out/work/result_$n.dat"
        rm -f "$result"
        cmd=("$fitsne" "$fitsne_version" "$dat" "$result" "$threads")
        echo "[$(date +%T)] fitsne n=$n rep=$rep (load $(cut -d' ' -f1 /proc/loadavg)): ${cmd[*]}" >&2
        rc=0
        /usr/bin/time -v -o "$timing" "${cmd[@]}" > "$log" 2>&1 || rc=$?
        [[ $rc -eq 0 && -s "$result" ]] || { tail -n 5 "$log" >&2; bench_fail 1 "FIt-SNE failed at n=$n (exit $rc; log $log)"; }
        emb="$out/emb/fitsne_$n.npy"
        [[ $rep -eq 1 ]] || emb="$out/work/fitsne_${n}_r${rep}.npy"
        read_result "$result" "$emb" "$n" || bench_fail 1 "FIt-SNE's result at n=$n is unusable (log $log)"
        wall=$(bench_wall_seconds "$timing")
        echo "fitsne,$n,$rep,$wall,$(bench_rss_mib "$timing")" >> "$out/runs.csv"
        echo "  wall ${wall} s, peak $(bench_rss_mib "$timing") MiB" >&2
        if [[ $rep -eq 1 ]]; then
            q="$out/logs/fitsne_${n}_evaluate.json"
            "$treesne" evaluate "$in.npy" "$emb" --labels "$data/labels_$n.txt" --json --threads "$threads" > "$q" 2>> "$log" ||
                bench_fail 1 "treesne evaluate failed at n=$n (log $log)"
            bench_quality_row "$q" fitsne "$n" >> "$out/quality.csv"
            tail -n 1 "$out/quality.csv" >&2
        fi
    done
    rm -f "$dat" "$out/work/result_$n.dat"
done

# --- summary ---------------------------------------------------------------------------------------
/usr/bin/python3 - "$out" "$threads" > "$out/summary.md" <<'PY'
import csv, statistics, sys
from collections import defaultdict
from pathlib import Path
out = Path(sys.argv[1])
runs = defaultdict(list)
for r in csv.DictReader(open(out / "runs.csv")):
    runs[int(r["n"])].append(r)
quality = {int(r["n"]): r for r in csv.DictReader(open(out / "quality.csv"))}
print(f"FIt-SNE on Fashion-MNIST PCA-50 ({(out / 'version.txt').read_text().strip()}; {sys.argv[2]} threads)\n")
print("| N | runs | median wall (s) | peak RSS (MiB) | exact KL | 10-NN preservation | trustworthiness | 10-NN accuracy |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
def num(q, key, fmt):
    try:
        return format(float(q.get(key, "")), fmt)
    except ValueError:
        return "-"
for n in sorted(runs):
    rs = runs[n]
    wall = statistics.median(float(r["wall_s"]) for r in rs)
    peak = max(float(r["peak_mb"]) for r in rs)
    q = quality.get(n, {})
    print(f"| {n} | {len(rs)} | {wall:.2f} | {peak:.1f} | {num(q, 'kl', '.4f')} | "
          f"{num(q, 'knn_preservation', '.4f')} | {num(q, 'trustworthiness', '.4f')} | {num(q, 'knn_accuracy', '.4f')} |")
PY
cat "$out/summary.md"

#!/usr/bin/env bash
# Do two treesne binaries give the same results? Runs one set of command lines with each and compares
# every output file byte for byte, what evaluate prints, and, for command lines that must fail, the exit
# status and the error message. A change that should not alter results (a restructuring, a build option)
# is checked with:
#
#   benchmarks/same_results.sh OLD/treesne NEW/treesne [WORKDIR]
#
# EMBED_ARGS="..." adds options to every embed command line (e.g. EMBED_ARGS="--max-step-norm 0" to
# compare with a build from before that default changed). Exit 0 when everything matches; otherwise each difference is named and the exit status is 1. The data
# are made here with numpy (/usr/bin/python3), so the check needs nothing else. About two minutes on two
# cores.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 OLD_TREESNE NEW_TREESNE [WORKDIR]" >&2
    exit 2
fi
old=$(realpath "$1")
new=$(realpath "$2")
work=${3:-$(mktemp -d)}
mkdir -p "$work"
cd "$work"

/usr/bin/python3 - <<'EOF'
import numpy as np
rng = np.random.default_rng(7)
def clusters(n, d, c, seed):
    r = np.random.default_rng(seed)
    centres = r.normal(0, 6, (c, d))
    lab = r.integers(0, c, n)
    return (centres[lab] + r.normal(0, 1, (n, d))).astype(np.float64), lab
x, lab = clusters(1500, 20, 6, 1)
np.save("x.npy", x)
np.savetxt("labels.txt", lab, fmt="%d")
np.savetxt("x.csv", x[:400, :5], delimiter=",")
np.save("small.npy", x[:300])
np.savetxt("small_labels.txt", lab[:300], fmt="%d")
np.save("new.npy", clusters(200, 20, 6, 1)[0] + 0.1)
np.save("low.npy", x[:, :3])
np.save("nan.npy", np.where(np.arange(20) == 3, np.nan, x[:10]))
EOF

failures=0
differ() {
    echo "DIFFERS: $*"
    failures=$((failures + 1))
}

# stderr without its times ("in 0.01 s").
timeless() {
    sed -E 's/[0-9]+([.][0-9]+)? (s|ms)\b/T/g' "$1"
}

# run NAME ARGS...: the same command line with both binaries, each in its own folder; output files
# (everything the run writes into its folder) are compared byte for byte, as is the exit status. stderr is
# compared only for runs that fail (progress lines carry times), without its times.
run() {
    local name=$1
    shift
    for side in old new; do
        rm -rf "${work:?}/$side/$name"
        mkdir -p "$work/$side/$name"
        local bin=$old
        [ "$side" = new ] && bin=$new
        local extra=()
        [ "${1:-}" = embed ] && [ -n "${EMBED_ARGS:-}" ] && read -ra extra <<<"$EMBED_ARGS"
        (cd "$work/$side/$name" && set +e && "$bin" "$@" ${extra[@]+"${extra[@]}"} >stdout 2>stderr; echo $? >status)
    done
    local o=$work/old/$name n=$work/new/$name
    [ "$(cat "$o/status")" = "$(cat "$n/status")" ] || differ "$name: exit status $(cat "$o/status") vs $(cat "$n/status")"
    if [ "$(cat "$o/status")" != 0 ]; then
        cmp -s <(timeless "$o/stderr") <(timeless "$n/stderr") ||
            differ "$name: error message '$(head -c 300 "$o/stderr")' vs '$(head -c 300 "$n/stderr")'"
    fi
    local f base
    for f in "$o"/*; do
        base=$(basename "$f")
        case $base in stderr | status) continue ;; esac
        if [ ! -e "$n/$base" ]; then
            differ "$name: $base written only by the old binary"
        elif [ "$base" = kl.csv ]; then  # its seconds column is a time: compare the others
            cmp -s <(cut -d, -f1-4,6 "$f") <(cut -d, -f1-4,6 "$n/$base") || differ "$name: $base (besides its times)"
        else
            cmp -s "$f" "$n/$base" || differ "$name: $base"
        fi
    done
    for f in "$n"/*; do
        [ -e "$o/$(basename "$f")" ] || differ "$name: $(basename "$f") written only by the new binary"
    done
}

d=$work
# --- embeddings: every backend, metric, kernel, method and affinity kind, threads 1 and 2 -------------
run default embed "$d/x.npy" -o y.npy --seed 3
run threads1 embed "$d/x.npy" -o y.npy --seed 3 --threads 1
run kdtree3d embed "$d/low.npy" -o y.npy --dims 3 --knn kdtree --iterations 300
run hnsw embed "$d/x.npy" -o y.npy --knn hnsw --iterations 300
run nndescent embed "$d/x.npy" -o y.npy --knn nndescent --iterations 300
run cosine embed "$d/x.npy" -o y.npy --metric cosine --iterations 300
run manhattan embed "$d/x.npy" -o y.npy --metric manhattan --knn brute --iterations 300
run chebyshev embed "$d/x.npy" -o y.npy --metric chebyshev --iterations 300
run dof embed "$d/x.npy" -o y.npy --dof 0.5 --iterations 300
run theta_auto embed "$d/x.npy" -o y.npy --theta auto --iterations 300
run dims1 embed "$d/x.npy" -o y.npy --dims 1 --theta 0.8 --iterations 300
run exact_tsne embed "$d/small.npy" -o y.npy --method exact_tsne --iterations 200
run exact_sne embed "$d/small.npy" -o y.npy --method exact_sne --iterations 200
run multiscale embed "$d/x.npy" -o y.npy --perplexity 10,50 --iterations 300
run sigma embed "$d/x.npy" -o y.npy --affinity sigma --sigma 2 --iterations 300
run uniform embed "$d/x.npy" -o y.npy --affinity uniform --k 15 --iterations 300
run pca_random embed "$d/x.npy" -o y.npy --pca 5 --init random --iterations 300
run late embed "$d/x.npy" -o y.npy --late-exaggeration 2 --late-exaggeration-start 300 --iterations 400
run optimizer embed "$d/x.npy" -o y.npy --learning-rate 100 --momentum 0.4 --final-momentum 0.7 \
    --exaggeration 8 --exaggeration-iterations 100 --max-step-norm 0 --early-stop 0.001 --iterations 400
run csv embed "$d/x.csv" -o y.txt --perplexity 20 --iterations 300
run outputs embed "$d/x.npy" -o y.npy --save-affinities p.mtx --kl-log kl.csv --checkpoint c.bin \
    --checkpoint-every 100 --snapshots snaps.npy --snapshot-every 100 --plot y.png --labels "$d/labels.txt" \
    --iterations 300
run from_p embed --affinities "$d/old/outputs/p.mtx" -o y.npy --iterations 300
run resume embed "$d/x.npy" -o y.npy --resume "$d/old/outputs/c.bin" --iterations 500
# --- transform, evaluate ---------------------------------------------------------------------------
run transform transform "$d/x.npy" "$d/old/default/y.npy" "$d/new.npy" -o t.npy
run transform_pca transform "$d/x.npy" "$d/old/pca_random/y.npy" "$d/new.npy" -o t.npy --pca 5 --iterations 100
run evaluate evaluate "$d/x.npy" "$d/old/default/y.npy" --labels "$d/labels.txt"
run evaluate_json evaluate "$d/x.npy" "$d/old/default/y.npy" --labels "$d/labels.txt" --json --sample 500
run evaluate_metric evaluate "$d/x.npy" "$d/old/cosine/y.npy" --metric cosine --k 5
# --- command lines that must fail, with their messages ----------------------------------------------
run bad_nan embed "$d/nan.npy" -o y.npy
run bad_perplexity embed "$d/small.npy" -o y.npy --perplexity 300
run bad_perp0 embed "$d/x.npy" -o y.npy --perplexity 0
run bad_dims embed "$d/x.npy" -o y.npy --dims 4
run bad_theta embed "$d/x.npy" -o y.npy --theta x
run bad_theta_neg embed "$d/x.npy" -o y.npy --theta -1
run bad_knn embed "$d/x.npy" -o y.npy --knn foo
run bad_metric embed "$d/x.npy" -o y.npy --metric foo --knn kdtree
run cosine_kdtree embed "$d/x.npy" -o y.npy --metric cosine --knn kdtree
run bad_hnsw_m embed "$d/x.npy" -o y.npy --hnsw-m 1
run bad_leaf embed "$d/x.npy" -o y.npy --nndescent-leaf 1
run bad_momentum embed "$d/x.npy" -o y.npy --momentum 1
run bad_dof embed "$d/x.npy" -o y.npy --dof 0
run bad_dof_sne embed "$d/x.npy" -o y.npy --dof 2 --method exact_sne
run bad_step embed "$d/x.npy" -o y.npy --max-step-norm -1
run bad_late embed "$d/x.npy" -o y.npy --late-exaggeration 2 --late-exaggeration-start 5
run bad_late_alone embed "$d/x.npy" -o y.npy --late-exaggeration-start 500
run bad_target embed "$d/x.npy" -o y.npy --target-error 0.1
run bad_sigma embed "$d/x.npy" -o y.npy --sigma 1 --affinity uniform
run bad_k embed "$d/x.npy" -o y.npy --k 10
run bad_lr embed "$d/x.npy" -o y.npy --learning-rate 0
run bad_gain embed "$d/x.npy" -o y.npy --gain-decrease 2
run bad_threads embed "$d/x.npy" -o y.npy --threads -1
run bad_unknown embed "$d/x.npy" -o y.npy --frobnicate 3
run bad_same embed "$d/x.npy" -o "$d/x.npy"
run bad_missing embed "$d/none.npy" -o y.npy
run bad_init embed "$d/x.npy" -o y.npy --init user
run bad_keep embed "$d/x.npy" -o y.npy --keep-init-scale
run bad_exact_big embed "$d/x.npy" -o y.npy --method exact_tsne --memory-limit 0.000001
run bad_seed embed "$d/x.npy" -o y.npy --seed -5
run bad_eval_rows evaluate "$d/x.npy" "$d/old/exact_tsne/y.npy"
run bad_eval_k evaluate "$d/x.npy" "$d/old/default/y.npy" --k 0
run bad_transform_cols transform "$d/x.npy" "$d/old/default/y.npy" "$d/low.npy" -o t.npy
run bad_command frobnicate
run bad_nocommand

if [ "$failures" -eq 0 ]; then
    echo "same results: every output, printed evaluation and error message matches ($work)"
else
    echo "$failures difference(s) ($work)"
    exit 1
fi

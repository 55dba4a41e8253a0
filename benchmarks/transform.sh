#!/usr/bin/env bash
# How well `treesne transform` places new points: Fashion-MNIST's test images transformed into the
# embedding of its training images, against the same test images embedded together with them.
#
#   benchmarks/transform.sh [--threads 2] [--build DIR] [--data DIR] [--out DIR]
#                           [-- EXTRA treesne transform OPTIONS]
#
# 1. embeds the 60,000 training images (treesne embed --pca 50)              -> OUT/train.npy
# 2. transforms the 10,000 test images into it (treesne transform --pca 50)   -> OUT/test.npy, OUT/test.png
# 3. embeds all 70,000 images together (training rows first)                  -> OUT/joint.npy
# 4. scores both placements of the test images by their 10-NN accuracy against the training labels: a
#    test image counts as right when the majority label of its 10 nearest training images in the
#    embedding (ties to the smallest label) is its own. The same measure in both, computed by a short
#    numpy script (python3 with numpy); transform's own "accuracy:" line must agree with it.
# Writes OUT/summary.txt (the two accuracies, their difference and the wall times) and the logs
# OUT/*.log. Target: the transformed accuracy within 0.03 of the joint one. DATA (default
# /usr/share/datasets/fashion-mnist) holds the four IDX files as Fashion-MNIST ships them; OUT defaults
# to benchmarks/out/transform. Not part of the tests: about 70 s on this project's two cores (2026-12-01:
# embedding 60,000 took 18 s, transforming 10,000 4.3 s, embedding 70,000 22 s, the scoring the rest).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
threads=2
build="$root/build"
data=/usr/share/datasets/fashion-mnist
out="$here/out/transform"
extra=()

bench_parse_options "threads build data out" "$@"

python=""
for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import numpy' 2>/dev/null; then
        python="$candidate"
        break
    fi
done
[[ -n "$python" ]] || bench_fail 1 "needs python3 with numpy (Debian package python3-numpy)"
train_images="$data/train-images-idx3-ubyte.gz"
train_labels="$data/train-labels-idx1-ubyte.gz"
test_images="$data/t10k-images-idx3-ubyte.gz"
test_labels="$data/t10k-labels-idx1-ubyte.gz"
for f in "$train_images" "$train_labels" "$test_images" "$test_labels"; do
    [[ -s "$f" ]] || bench_fail 1 "missing $f"
done
bench_build "$build" treesne_cli
treesne="$build/tools/treesne"
mkdir -p "$out"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

echo "1/3 embedding the 60,000 training images (log: $out/train.log)"
t0=$(now)
"$treesne" embed "$train_images" --pca 50 --threads "$threads" -o "$out/train.npy" 2>"$out/train.log"
t1=$(now)
echo "2/3 transforming the 10,000 test images (log: $out/transform.log)"
"$treesne" transform "$train_images" "$out/train.npy" "$test_images" --pca 50 --threads "$threads" \
    -o "$out/test.npy" --labels "$train_labels" --new-labels "$test_labels" --plot "$out/test.png" \
    "${extra[@]}" 2>"$out/transform.log"
t2=$(now)
echo "3/3 embedding all 70,000 images together (log: $out/joint.log)"
"$treesne" embed "$train_images" "$test_images" --pca 50 --threads "$threads" -o "$out/joint.npy" \
    2>"$out/joint.log"
t3=$(now)

"$python" - "$out" "$train_labels" "$test_labels" <<'EOF' >"$out/accuracy.txt"
import gzip, struct, sys
import numpy as np

out, train_path, test_path = sys.argv[1:4]

def idx_labels(path):
    with gzip.open(path) as f:
        raw = f.read()
    count = struct.unpack(">I", raw[4:8])[0]
    return np.frombuffer(raw[8:8 + count], dtype=np.uint8).astype(np.int64)

def accuracy(train, test, train_labels, test_labels, k=10):
    right = 0
    squared = (train ** 2).sum(axis=1)
    for begin in range(0, len(test), 200):
        block = test[begin:begin + 200]
        d = squared[None, :] - 2.0 * block @ train.T + (block ** 2).sum(axis=1)[:, None]
        nearest = np.argpartition(d, k, axis=1)[:, :k]
        for row, truth in zip(train_labels[nearest], test_labels[begin:begin + 200]):
            votes = np.bincount(row, minlength=10)
            right += int(np.argmax(votes) == truth)  # argmax: ties to the smallest label
    return right / len(test)

train_labels, test_labels = idx_labels(train_path), idx_labels(test_path)
n = len(train_labels)
joint = np.load(f"{out}/joint.npy")
print(f"transformed {accuracy(np.load(f'{out}/train.npy'), np.load(f'{out}/test.npy'), train_labels, test_labels):.4f}")
print(f"joint {accuracy(joint[:n], joint[n:], train_labels, test_labels):.4f}")
EOF

transformed=$(awk '$1 == "transformed" { print $2 }' "$out/accuracy.txt")
joint=$(awk '$1 == "joint" { print $2 }' "$out/accuracy.txt")
{
    echo "Fashion-MNIST, --pca 50, $threads threads: 10-NN accuracy of the 10,000 test images against the"
    echo "60,000 training labels"
    echo "  transformed into the training embedding  $transformed"
    echo "  embedded together with the training set  $joint"
    echo "  difference (joint - transformed)         $(awk -v a="$joint" -v b="$transformed" 'BEGIN { printf "%.4f", a - b }') (target: at most 0.03)"
    echo "  transform's own accuracy line:            $(grep '^accuracy:' "$out/transform.log" | cut -d' ' -f2)"
    echo "wall seconds: embed 60,000 $(elapsed "$t0" "$t1"), transform 10,000 $(elapsed "$t1" "$t2"), embed 70,000 $(elapsed "$t2" "$t3")"
    echo "transform stages:"
    grep -E '^(read|pca|neighbours|init|optimise|write|plot):' "$out/transform.log" |
        grep -vE '^optimise: [0-9]+/' | sed 's/^/  /'
} >"$out/summary.txt"
cat "$out/summary.txt"

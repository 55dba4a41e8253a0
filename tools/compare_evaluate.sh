#!/usr/bin/env bash
# Runs a set of `treesne evaluate` command lines (and the `embed` ones of a given P's size check) on two
# binaries and compares stdout, stderr and the exit status of each. The seconds in progress lines and the
# memory available now are masked (they differ between any two runs); everything else must be the same
# byte for byte.
#
#   tools/compare_evaluate.sh REFERENCE_BINARY NEW_BINARY
#
# Needs a python3 with numpy for the data ($PYTHON, default python3). Exit status 0 when every case matches, 1 otherwise.
set -u
if [ $# -ne 2 ]; then
    echo "usage: $0 REFERENCE_BINARY NEW_BINARY" >&2
    exit 2
fi
ref=$(realpath "$1")
new=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 2

"${PYTHON:-python3}" - <<'EOF' || exit 2
import numpy as np
r = np.random.default_rng(1)
centres = r.normal(scale=8, size=(4, 10))
labels = r.integers(0, 4, 300)
x = centres[labels] + r.normal(size=(300, 10))
y = r.normal(size=(300, 2)) + labels[:, None]
np.savetxt("x.csv", x, delimiter=",")
np.savetxt("x1.csv", x[:120], delimiter=",")
np.savetxt("x2.csv", x[120:], delimiter=",")
np.save("x.npy", x)
np.savetxt("y.csv", y, delimiter=",")
np.save("y.npy", y)
np.savetxt("y1.csv", y[:, :1], delimiter=",")
np.savetxt("y3.csv", np.c_[y, y[:, 0]], delimiter=",")
np.savetxt("y4.csv", np.c_[y, y], delimiter=",")
np.savetxt("y_short.csv", y[:299], delimiter=",")
np.savetxt("labels.txt", labels, fmt="%d")
np.savetxt("labels1.txt", labels[:120], fmt="%d")
np.savetxt("labels2.txt", labels[120:], fmt="%d")
np.savetxt("labels_short.txt", labels[:299], fmt="%d")
np.savetxt("x_huge.csv", x * 1e200, delimiter=",")
np.savetxt("x_tiny.csv", x * 1e-200, delimiter=",")
with open("y_nan.csv", "w") as f:
    for i, row in enumerate(y):
        f.write(("nan," if i == 7 else "%r," % row[0]) + "%r\n" % row[1])
big = r.normal(size=(200001, 1))
np.save("x_big.npy", big)
np.save("y_big.npy", big + r.normal(scale=0.1, size=big.shape))
np.save("x_six.npy", x[:6])
np.save("y_six.npy", y[:6])
np.savetxt("init.csv", y * 1e-4, delimiter=",")
for name, n in (("p2.mtx", 2), ("p3.mtx", 3)):
    with open(name, "w") as f:
        f.write("%%%%MatrixMarket matrix coordinate real general\n%d %d %d\n" % (n, n, n * (n - 1)))
        for i in range(n):
            for j in range(n):
                if i != j:
                    f.write("%d %d %r\n" % (i + 1, j + 1, 1.0 / (n * (n - 1))))
EOF

cases=(
    "evaluate x.csv y.csv"
    "evaluate x.csv y.csv --labels labels.txt"
    "evaluate x.csv y.csv --json"
    "evaluate x.csv y.csv --labels labels.txt --json"
    "evaluate x.npy y.npy --labels labels.txt --json --threads 1"
    "evaluate x1.csv x2.csv y.csv --labels labels1.txt --labels labels2.txt"
    "evaluate x.csv y1.csv --json"
    "evaluate x.csv y3.csv --labels labels.txt"
    "evaluate x.csv y.csv --sample 100 --seed 3"
    "evaluate x.csv y.csv --sample 100 --seed 3 --json --labels labels.txt"
    "evaluate x.csv y.csv --sample 0 --json"
    "evaluate x.csv y.csv --sample 300 --json"
    "evaluate x.csv y.csv --sample 5000 --json"
    "evaluate x.csv y.csv --perplexity 10 --k 5"
    "evaluate x.csv y.csv --dof 0.5 --labels labels.txt"
    "evaluate x.csv y.csv --metric manhattan --json"
    "evaluate x.csv y.csv --metric cosine"
    "evaluate x.csv y.csv --metric chebyshev --dof 2 --json"
    "evaluate x.csv y.csv --pca 3 --labels labels.txt"
    "evaluate x.csv y.csv --pca 3 --json --verbose"
    "evaluate x.csv y.csv --trust-queries 50"
    "evaluate x.csv y.csv --trust-queries 0 --json"
    "evaluate x.csv y.csv --verbose --labels labels.txt"
    "evaluate x.csv y.csv --quiet --json"
    "evaluate x.csv y.csv --threads 100000 --json"
    "evaluate x_huge.csv y.csv --json"
    "evaluate x_tiny.csv y.csv --pca 2"
    "evaluate x.csv y.csv --memory-limit 0.000001"
    "evaluate x.csv y.csv --memory-limit 0.000001 --verbose"
    "evaluate x.csv y.csv --memory-limit 0 --json"
    "evaluate x.csv y.csv --memory-limit 1 --json --verbose"
    "evaluate x_big.npy y_big.npy"
    "evaluate x_big.npy y_big.npy --sample 200001"
    "evaluate x_big.npy y_big.npy --sample 500 --json --perplexity 20"
    "evaluate x_big.npy y_big.npy --sample 500 --verbose"
    "evaluate x.csv y_short.csv"
    "evaluate x.csv y4.csv"
    "evaluate x.csv y_nan.csv"
    "evaluate x.csv y.csv --labels labels_short.txt"
    "evaluate x.csv y.csv --k 150"
    "evaluate x.csv y.csv --k 149 --json"
    "evaluate x.csv y.csv --k 0"
    "evaluate x.csv y.csv --perplexity 200"
    "evaluate x.csv y.csv --sample 20"
    "evaluate x.csv y.csv --sample 40 --perplexity 5 --k 20"
    "evaluate x.csv y.csv --sample -1"
    "evaluate x.csv y.csv --pca 11"
    "evaluate x.csv y.csv --dof 0"
    "evaluate x.csv y.csv --metric precomputed"
    "evaluate x_six.npy y_six.npy --perplexity 1 --k 2"
    "evaluate x.csv x.csv"
    "evaluate x.csv missing.csv"
    "evaluate y.csv"
    "evaluate x.csv y.csv --affinities p3.mtx"
    "evaluate --help"
    "embed --affinities p2.mtx -o out.csv"
    "embed --affinities p3.mtx -o out.csv --iterations 50 --quiet"
    "embed x.csv --affinities p3.mtx -o out.csv --iterations 50"
    "embed x.csv -o out.csv --iterations 60 --perplexity 10 --verbose"
    "embed x.csv -o out.csv --iterations 60 --init init.csv"
    "embed x.csv -o out.csv --iterations 60 --checkpoint ck.bin --checkpoint-every 20"
    "embed x.csv -o out.csv --iterations 80 --resume ck.bin"
    "embed x.csv -o out.csv --iterations 40 --resume ck.bin"
    "embed x.csv -o out.csv --init y4.csv"
    "embed x.csv -o out.csv --perplexity 200 --iterations 50"
)

mask() {
    sed -E -e 's/[0-9]+\.[0-9]+ s\b/T/g' -e 's/[0-9]+ min [0-9]+ s/T/g' -e 's/[0-9]+ h [0-9]+ min/T/g' \
        -e 's/[0-9.]+ (B|KiB|MiB|GiB|TiB) available/X available/g' \
        -e '/^optimise: [0-9.]+ ms per iteration/s/[0-9]+\.[0-9]+/T/g'
}

failed=0
for c in "${cases[@]}"; do
    # shellcheck disable=SC2086  # each case is a list of words
    "$ref" $c >ref.out 2>ref.err
    ref_rc=$?
    [ -f out.csv ] && mv out.csv ref_out.csv
    # shellcheck disable=SC2086
    "$new" $c >new.out 2>new.err
    new_rc=$?
    # an embedding written by -o out.csv must be the same too (the --checkpoint case leaves ck.bin, made by
    # the new binary, for the --resume case after it: both binaries resume from the same file)
    if [ "$ref_rc" != "$new_rc" ] || ! cmp -s ref.out new.out || ! cmp -s <(mask <ref.err) <(mask <new.err) ||
        { [ -f ref_out.csv ] && ! cmp -s ref_out.csv out.csv; }; then
        failed=1
        echo "DIFFERS: treesne $c (exit $ref_rc vs $new_rc)"
        diff ref.out new.out | head -5
        diff <(mask <ref.err) <(mask <new.err) | head -5
    else
        echo "same:    treesne $c (exit $ref_rc)"
    fi
    rm -f ref_out.csv out.csv
done
if [ "$failed" = 0 ]; then echo "all ${#cases[@]} cases match"; else echo "some cases differ"; fi
exit "$failed"

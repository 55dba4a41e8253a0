#!/usr/bin/env bash
# The distributed nndescent (ctest `mpi_nndescent`, TREESNE_MPI builds):
#   - R = 2, 3, 4 ranks with 1 and 2 threads find the same graph (TREESNE_DIST_DUMP_GRAPH) and write the
#     same embedding, byte for byte; cosine too;
#   - its recall of the exact k nearest is within 0.5 points of the single process's nndescent (the
#     references from knn_graph, the single process's search);
#   - a small input is answered by the exact search, as the single process's nndescent does;
#   - --knn hnsw is still refused with one line.
#
#   tests/mpi/test_mpi_nndescent.sh TREESNE_BINARY KNN_GRAPH_BINARY
set -euo pipefail
treesne="$(realpath "$1")"
knn_graph="$(realpath "$2")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpi() { local r="$1"; shift; mpirun --quiet --oversubscribe -np "$r" "$@"; }
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
same() { if cmp -s "$1" "$2"; then echo "ok: $3"; else fail "$3 ($1 differs from $2)"; fi; }

# 3,000 points of 4 overlapping Gaussian clusters in 40-D (hard enough that nndescent misses about 1 %
# of the neighbours), shuffled, one row duplicated (ties); and 100 points.
/usr/bin/python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(7)
centres = rng.normal(size=(4, 40))
x = np.vstack([c + rng.normal(size=(750, 40)) for c in centres])
x = x[rng.permutation(len(x))]
x[11] = x[10]
np.save("x.npy", x)
np.save("small.npy", x[:100])
PY
common=(--knn nndescent --perplexity 10 --iterations 100 -q)

for r in 2 3 4; do
  for t in 1 2; do
    TREESNE_DIST_DUMP_GRAPH="g$r-$t.npy" mpi "$r" "$treesne" embed x.npy -o "e$r-$t.npy" "${common[@]}" --threads "$t"
  done
done
for r in 2 3 4; do
  for t in 1 2; do
    [ "$r-$t" = 2-1 ] && continue
    same g2-1.npy "g$r-$t.npy" "graph, R=$r, threads $t"
    same e2-1.npy "e$r-$t.npy" "embedding, R=$r, threads $t"
  done
done
for r in 2 3; do
  TREESNE_DIST_DUMP_GRAPH="c$r.npy" mpi "$r" "$treesne" embed x.npy -o "ce$r.npy" "${common[@]}" --metric cosine --threads 1
done
same c2.npy c3.npy "cosine graph, R=3"
same ce2.npy ce3.npy "cosine embedding, R=3"

# Recall against the exact search, next to the single process's nndescent (k = 30 for perplexity 10).
"$knn_graph" x.npy brute euclidean 10 exact.npy
"$knn_graph" x.npy nndescent euclidean 10 single.npy
"$knn_graph" x.npy brute cosine 10 cexact.npy
"$knn_graph" x.npy nndescent cosine 10 csingle.npy
recall() {
  /usr/bin/python3 - "$@" <<'PY'
import sys
import numpy as np
exact = np.load(sys.argv[1]).astype(np.int64)
found = [np.load(f).astype(np.int64) for f in sys.argv[2:]]
hits = [sum(len(np.intersect1d(a, b)) for a, b in zip(exact, g)) / exact.size for g in found]
print(" ".join("%.5f" % h for h in hits))
PY
}
for metric in euclidean cosine; do
  if [ "$metric" = euclidean ]; then read -r single dist < <(recall exact.npy single.npy g2-1.npy)
  else read -r single dist < <(recall cexact.npy csingle.npy c2.npy); fi
  if /usr/bin/python3 -c "import sys; sys.exit(0 if $dist >= $single - 0.005 else 1)"; then
    echo "ok: $metric recall $dist (single process $single)"
  else
    fail "$metric recall $dist, more than 0.5 points below the single process's $single"
  fi
done

# 100 points: too few for the forest; the exact search answers (the single process scans exactly too).
TREESNE_DIST_DUMP_GRAPH=s2.npy mpi 2 "$treesne" embed small.npy -o small2.npy --knn nndescent --perplexity 10 \
  --iterations 50 -q
"$knn_graph" small.npy brute euclidean 10 sexact.npy
same sexact.npy s2.npy "100 points: the exact graph"

set +e
mpi 2 "$treesne" embed x.npy -o h.npy -q --knn hnsw 2> err.txt; rc=$?
set -e
if [ "$rc" = 1 ] && [ "$(wc -l < err.txt)" = 1 ] && grep -q "hnsw" err.txt && [ ! -e h.npy ]; then
  echo "ok: refused: $(cat err.txt)"
else
  fail "hnsw refusal: exit $rc: $(cat err.txt)"
fi

if [ "$failures" -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all distributed nndescent checks passed"

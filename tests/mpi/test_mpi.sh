#!/usr/bin/env bash
# The distributed run against the single process (ctest `mpi`, TREESNE_MPI builds):
#   - R = 1, 2, 3, 4 ranks with 1 and 2 threads give the single process's embedding byte for byte: the
#     exact search (auto and brute), PCA and random starts, text input, cosine with --pca, a given
#     neighbour graph read by rows (also one listing each point first) and a given P; small reference
#     slices and P in many rounds;
#   - a checkpoint of R ranks resumes with other counts (and with the plain program) to the same bytes;
#   - bad input on one rank: every rank stops, one line, exit 1, no output (bad graphs: the single
#     process's message); a refused option: one line;
#   - a rank killed mid-run ends the job within seconds, non-zero, no output.
#
#   tests/mpi/test_mpi.sh TREESNE_BINARY
# Runs as root too (Open MPI then needs OMPI_ALLOW_RUN_AS_ROOT*), with --oversubscribe (2-core machines).
set -euo pipefail
treesne="$(realpath "$1")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpi() { local r="$1"; shift; mpirun --quiet --oversubscribe -np "$r" "$@"; }
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
same() { if cmp -s "$1" "$2"; then echo "ok: $3"; else fail "$3 ($1 differs from $2)"; fi; }

# 10,200 points in 10 dimensions: three row blocks of 4096, so 4 ranks leave one without rows.
/usr/bin/python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(1)
centres = rng.normal(size=(6, 10)) * 4
x = np.vstack([c + rng.normal(size=(1700, 10)) for c in centres])
x[17] = x[16]  # a duplicated row: the tie order matters
np.save("x.npy", x)
np.savetxt("x.csv", x[:3000], delimiter=",")  # text: read on rank 0 and scattered
bad = x.copy(); bad[9000, 3] = np.nan
np.save("bad.npy", bad)
# A neighbour graph from elsewhere (brute force here), 15 per point, for --neighbors.
y = x[:5000]
d = ((y[:, None, :] - y[None, :, :]) ** 2).sum(-1)
np.fill_diagonal(d, np.inf)
idx = np.argsort(d, axis=1, kind="stable")[:, :15]
np.save("gi.npy", idx.astype(np.float64))
gd = np.sqrt(np.take_along_axis(d, idx, 1))
np.save("gd.npy", gd)
# The same with each point listed first at distance 0 (as scikit-learn's kneighbors(X) returns it).
np.save("gsi.npy", np.hstack([np.arange(5000)[:, None], idx]).astype(np.float64))
np.save("gsd.npy", np.hstack([np.zeros((5000, 1)), gd]))
# Bad graphs: an index out of range in rank 2's rows (of 3); that and a negative distance in rank 2's
# rows with a bad index in rank 0's (the distances are checked first, as one process does); a distances
# file of another shape (read whole by rank 0).
bi = idx.astype(np.float64); bi[4500, 2] = 99999; np.save("gbi.npy", bi)
bi2 = bi.copy(); bi2[10, 0] = 10; np.save("gbi2.npy", bi2)
bd = gd.copy(); bd[4600, 5] = -1; np.save("gbd.npy", bd)
np.save("gshort.npy", gd[:4000])
PY
common=(--iterations 300 -q)

"$treesne" embed x.npy -o single.npy "${common[@]}" --threads 2
"$treesne" embed x.npy -o brute.npy "${common[@]}" --knn brute --init random
"$treesne" embed x.csv -o csv.npy "${common[@]}" --perplexity 20
"$treesne" embed x.npy -o cos.npy --iterations 150 -q --metric cosine --pca 5
for r in 1 2 3 4; do
  for t in 1 2; do
    mpi "$r" "$treesne" embed x.npy -o "r$r-t$t.npy" "${common[@]}" --threads "$t"
    same single.npy "r$r-t$t.npy" "exact search, pca start, R=$r, threads $t"
  done
done
for r in 2 3; do
  mpi "$r" "$treesne" embed x.npy -o "b$r.npy" "${common[@]}" --knn brute --init random --threads 1
  same brute.npy "b$r.npy" "brute, random start, R=$r"
  mpi "$r" "$treesne" embed x.csv -o "c$r.npy" "${common[@]}" --perplexity 20
  same csv.npy "c$r.npy" "text input scattered from rank 0, R=$r"
  mpi "$r" "$treesne" embed x.npy -o "cos$r.npy" --iterations 150 -q --metric cosine --pca 5
  same cos.npy "cos$r.npy" "cosine after --pca 5, R=$r"
done
# Small buffers: the ring searches slices of 682 reference rows, P's exchanges take about 40 and 80
# rounds (not 1). The same bytes.
for r in 3 4; do
  TREESNE_MPI_BUFFER_BYTES=65536 mpi "$r" "$treesne" embed x.npy -o "small$r.npy" "${common[@]}" --threads 1
  same single.npy "small$r.npy" "buffers of 64 KiB (slices, rounds), R=$r"
done

# A given P (saved by a short run), embedded from rank 0's copy.
"$treesne" embed x.npy -o tmp.npy --iterations 1 -q --save-affinities P.mtx
"$treesne" embed --affinities P.mtx -o p1.npy "${common[@]}" --init random
for r in 2 3 4; do
  mpi "$r" "$treesne" embed --affinities P.mtx -o "p$r.npy" "${common[@]}" --init random --threads 1
  same p1.npy "p$r.npy" "given P, R=$r"
done

# A given neighbour graph (.npy: each rank reads its rows).
"$treesne" embed --neighbors gi.npy --neighbor-distances gd.npy -o g1.npy "${common[@]}" --init random --perplexity 4
for r in 2 3; do
  mpi "$r" "$treesne" embed --neighbors gi.npy --neighbor-distances gd.npy -o "g$r.npy" "${common[@]}" --init random \
    --perplexity 4 --threads 1
  same g1.npy "g$r.npy" "given neighbour graph, read by rows, R=$r"
done
"$treesne" embed --neighbors gsi.npy --neighbor-distances gsd.npy -o gs1.npy "${common[@]}" --init random --perplexity 4
mpi 3 "$treesne" embed --neighbors gsi.npy --neighbor-distances gsd.npy -o gs3.npy "${common[@]}" --init random \
  --perplexity 4
same gs1.npy gs3.npy "given neighbour graph listing each point first, R=3"
"$treesne" embed --neighbors gi.npy --neighbor-distances gd.npy -o gw.npy --iterations 300 -q --init random --perplexity 4
mpi 2 "$treesne" embed --neighbors gi.npy --neighbor-distances gd.npy -o gh.npy --iterations 150 -q --init random \
  --perplexity 4 --checkpoint g.ckpt --checkpoint-every 150
"$treesne" embed --neighbors gi.npy --neighbor-distances gd.npy -o gr.npy --iterations 300 -q --perplexity 4 \
  --resume g.ckpt
same gw.npy gr.npy "checkpoint of a given graph on 2 ranks resumed by the plain program"
# Bad graphs: the single process's message, one line, exit 1, nothing written.
for bad in "gbi.npy gd.npy" "gbi2.npy gbd.npy" "gi.npy gshort.npy"; do
  set -- $bad
  set +e
  "$treesne" embed --neighbors "$1" --neighbor-distances "$2" -o bad1.npy -q --init random --perplexity 4 2> e1.txt
  mpi 3 "$treesne" embed --neighbors "$1" --neighbor-distances "$2" -o bad3.npy -q --init random --perplexity 4 \
    2> e3.txt; rc=$?
  set -e
  if [ "$rc" = 1 ] && [ "$(wc -l < e3.txt)" = 1 ] && cmp -s e1.txt e3.txt && [ ! -e bad3.npy ]; then
    echo "ok: bad graph $1 $2: $(cat e3.txt)"
  else
    fail "bad graph $1 $2: exit $rc: $(cat e3.txt) | single: $(cat e1.txt)"
  fi
done

# Checkpoints resume across rank counts.
"$treesne" embed x.npy -o whole.npy --iterations 400 -q
mpi 2 "$treesne" embed x.npy -o half.npy --iterations 200 -q --checkpoint c2.ckpt --checkpoint-every 100
mpi 3 "$treesne" embed x.npy -o from2.npy --iterations 400 -q --resume c2.ckpt
same whole.npy from2.npy "checkpoint of 2 ranks resumed by 3"
"$treesne" embed x.npy -o from2p.npy --iterations 400 -q --resume c2.ckpt
same whole.npy from2p.npy "checkpoint of 2 ranks resumed by the plain program"
"$treesne" embed x.npy -o half1.npy --iterations 200 -q --checkpoint c1.ckpt
mpi 4 "$treesne" embed x.npy -o from1.npy --iterations 400 -q --resume c1.ckpt
same whole.npy from1.npy "checkpoint of the plain program resumed by 4 ranks"

# Bad input on one rank (row 9001 belongs to rank 2 of 3): one line, exit 1, nothing written.
set +e
mpi 3 "$treesne" embed bad.npy -o bad-out.npy -q 2> err.txt; rc=$?
set -e
lines=$(wc -l < err.txt)
if [ "$rc" = 1 ] && [ "$lines" = 1 ] && grep -q "row 9001, column 4" err.txt && [ ! -e bad-out.npy ]; then
  echo "ok: bad input on one rank: $(cat err.txt)"
else
  fail "bad input on one rank: exit $rc, $lines lines: $(cat err.txt)"
fi
set +e
mpi 2 "$treesne" embed x.npy -o ex.npy -q --method exact_tsne 2> err.txt; rc=$?
set -e
if [ "$rc" = 1 ] && [ "$(wc -l < err.txt)" = 1 ] && grep -q "exact_tsne" err.txt && [ ! -e ex.npy ]; then
  echo "ok: refused option: $(cat err.txt)"
else
  fail "refused option: exit $rc: $(cat err.txt)"
fi

# Each rank checks its memory estimate before the big allocations.
set +e
mpi 2 "$treesne" embed x.npy -o mem.npy -q --memory-limit 0.005 2> err.txt; rc=$?
set -e
if [ "$rc" = 1 ] && [ "$(wc -l < err.txt)" = 1 ] && grep -q "needs about" err.txt && [ ! -e mem.npy ]; then
  echo "ok: memory estimate per rank: $(cut -c1-100 err.txt)..."
else
  fail "memory estimate per rank: exit $rc: $(cat err.txt)"
fi

# A rank killed mid-run: the job ends within seconds, non-zero, and writes nothing.
mpirun --oversubscribe -np 2 "$treesne" embed x.npy -o killed.npy --iterations 1000000 -q 2> kill-err.txt &
job=$!
victim=""
for _ in $(seq 1 100); do
  victim=$(pgrep -f "treesne embed x.npy -o killed.npy" | grep -vx "$job" | tail -1 || true)
  [ -n "$victim" ] && [ "$(pgrep -f "treesne embed x.npy -o killed.npy" | grep -vx "$job" | wc -l)" -ge 2 ] && break
  sleep 0.1
done
sleep 2
kill -9 "$victim"
killed_at=$(date +%s)
set +e
wait "$job"; rc=$?
set -e
took=$(( $(date +%s) - killed_at ))
if [ "$rc" != 0 ] && [ "$took" -le 10 ] && [ ! -e killed.npy ]; then
  echo "ok: killed rank: job ended in ${took} s, exit $rc; mpirun: $(grep -m1 -i 'signal\|killed\|exited' kill-err.txt || true)"
else
  fail "killed rank: exit $rc after ${took} s, output exists: $([ -e killed.npy ] && echo yes || echo no)"
fi

if [ "$failures" -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "all distributed checks passed"

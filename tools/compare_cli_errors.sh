#!/usr/bin/env bash
# Runs a list of malformed command lines against two treesne binaries and compares, for each, the exit
# status and stderr byte for byte; also each command's --help (a case that gets past parsing runs with -q,
# so that no timing reaches stderr). Used to check that a refactoring of the
# option handling keeps every message. Usage:
#   tools/compare_cli_errors.sh REFERENCE_BINARY NEW_BINARY
# Exit status 0 when every case agrees; the differing cases are printed.
set -u
ref=${1:?reference binary}
new=${2:?new binary}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '1,2,3\n4,5,6\n7,8,9\n1,1,1\n2,2,2\n3,3,3\n' > "$dir/x.csv"
x="$dir/x.csv"

cases=(
  "embed $x -o $dir/o.csv --max-step-norm -1" "embed $x -o $dir/o.csv --max-step-norm x"
  "embed $x -o $dir/o.csv --theta x" "embed $x -o $dir/o.csv --theta -1" "embed $x -o $dir/o.csv --theta inf"
  "embed $x -o $dir/o.csv --theta 1e999" "embed $x -o $dir/o.csv --dims 4" "embed $x -o $dir/o.csv --dims 0"
  "embed $x -o $dir/o.csv --dims 2.5" "embed $x -o $dir/o.csv --dims 99999999999999999999"
  "embed $x -o $dir/o.csv --knn foo" "embed $x -o $dir/o.csv --metric foo" "embed $x -o $dir/o.csv --method foo"
  "embed $x -o $dir/o.csv --affinity foo" "embed $x -o $dir/o.csv --perplexity 0"
  "embed $x -o $dir/o.csv --perplexity 30,0.5" "embed $x -o $dir/o.csv --perplexity 30,"
  "embed $x -o $dir/o.csv --perplexity x" "embed $x -o $dir/o.csv --hnsw-m 1" "embed $x -o $dir/o.csv --hnsw-m 1001"
  "embed $x -o $dir/o.csv --hnsw-ef-construction 0" "embed $x -o $dir/o.csv --hnsw-ef-search -1"
  "embed $x -o $dir/o.csv --hnsw-ef-search 100001" "embed $x -o $dir/o.csv --hnsw-ef-search x"
  "embed $x -o $dir/o.csv --nndescent-leaf 1" "embed $x -o $dir/o.csv --nndescent-leaf 100001"
  "embed $x -o $dir/o.csv --nndescent-leaf -1" "embed $x -o $dir/o.csv --nndescent-trees 1001"
  "embed $x -o $dir/o.csv --nndescent-rounds -1" "embed $x -o $dir/o.csv --momentum 1"
  "embed $x -o $dir/o.csv --momentum -0.1" "embed $x -o $dir/o.csv --final-momentum 1"
  "embed $x -o $dir/o.csv --dof 0" "embed $x -o $dir/o.csv --dof 1e7" "embed $x -o $dir/o.csv --dof x"
  "embed $x -o $dir/o.csv --dof 2 --method exact_sne"
  "embed $x -o $dir/o.csv --late-exaggeration-start 5" "embed $x -o $dir/o.csv --late-exaggeration-start 5 --late-exaggeration 2"
  "embed $x -o $dir/o.csv --late-exaggeration-start -2 --late-exaggeration 2"
  "embed $x -o $dir/o.csv --late-exaggeration 0" "embed $x -o $dir/o.csv --early-stop 1"
  "embed $x -o $dir/o.csv --early-stop -1" "embed $x -o $dir/o.csv --target-error 0.1"
  "embed $x -o $dir/o.csv --target-error 2 --theta auto" "embed $x -o $dir/o.csv --learning-rate 0"
  "embed $x -o $dir/o.csv --learning-rate -5" "embed $x -o $dir/o.csv --learning-rate x"
  "embed $x -o $dir/o.csv --gain-increase -1" "embed $x -o $dir/o.csv --gain-decrease 0"
  "embed $x -o $dir/o.csv --gain-decrease 1.5" "embed $x -o $dir/o.csv --min-gain 0"
  "embed $x -o $dir/o.csv --exaggeration 0" "embed $x -o $dir/o.csv --exaggeration-iterations -1"
  "embed $x -o $dir/o.csv --iterations -1" "embed $x -o $dir/o.csv --iterations 1.5"
  "embed $x -o $dir/o.csv --iterations 9223372036854775807 -q" "embed $x -o $dir/o.csv --iterations 9223372036854775808"
  "embed $x -o $dir/o.csv --log-every 9223372036854775807 -q" "embed $x -o $dir/o.csv --k 9223372036854775807 -q"
  "embed $x -o $dir/o.csv --momentum-switch -1" "embed $x -o $dir/o.csv --threads -1"
  "embed $x -o $dir/o.csv --threads 2000000" "embed $x -o $dir/o.csv --pca -1"
  "embed $x -o $dir/o.csv --pca 3000000000" "embed $x -o $dir/o.csv --log-every -1"
  "embed $x -o $dir/o.csv --seed -1" "embed $x -o $dir/o.csv --seed x" "embed $x -o $dir/o.csv --seed 99999999999999999999"
  "embed $x -o $dir/o.csv --sigma 0" "embed $x -o $dir/o.csv --sigma 1 --affinity uniform"
  "embed $x -o $dir/o.csv --affinity sigma --perplexity 5" "embed $x -o $dir/o.csv --k 0"
  "embed $x -o $dir/o.csv --k 10 --perplexity 20" "embed $x -o $dir/o.csv --perplexity-tolerance 0"
  "embed $x -o $dir/o.csv --perplexity-steps 0" "embed $x -o $dir/o.csv --knn hnsw --metric manhattan"
  "embed $x -o $dir/o.csv --init user" "embed $x -o $dir/o.csv --keep-init-scale"
  "embed $x -o $dir/o.csv --checkpoint-every 0" "embed $x -o $dir/o.csv --snapshot-every -1"
  "embed $x -o $dir/o.csv --memory-limit -1" "embed $x" "embed -o $dir/o.csv" "embed $x -o $dir/o.xyz"
  "embed $x -o $dir/o.csv --bogus 1" "embed $x -o $dir/o.csv --theta"
  "evaluate $x $x --perplexity 0" "evaluate $x $x --dof 0" "evaluate $x $x --metric foo"
  "evaluate $x $x --pca -1" "evaluate $x $x --threads -1" "evaluate $x $x --k 0" "evaluate $x $x --sample 1"
  "evaluate $x $x --seed x" "evaluate $x"
  "accuracy $x --perplexity 0" "accuracy $x --dims 4" "accuracy $x --pca -1" "accuracy $x --iterations -1"
  "accuracy $x --dof 0" "accuracy $x --threads -1" "accuracy $x --seed x" "accuracy $x --knn foo"
  "accuracy $x --theta -1" "accuracy $x --theta 0,,1" "accuracy $x --sample 1"
  "transform $x $x $x -o $dir/o.csv --pca -1" "transform $x $x $x -o $dir/o.csv --knn foo"
  "transform $x $x $x -o $dir/o.csv --perplexity 0" "transform $x $x $x -o $dir/o.csv --perplexity x"
  "transform $x $x $x -o $dir/o.csv --iterations -1" "transform $x $x $x -o $dir/o.csv --exaggeration 0"
  "transform $x $x $x -o $dir/o.csv --exaggeration-iterations -1" "transform $x $x $x -o $dir/o.csv --learning-rate 0"
  "transform $x $x $x -o $dir/o.csv --learning-rate auto" "transform $x $x $x -o $dir/o.csv --momentum 1"
  "transform $x $x $x -o $dir/o.csv --max-step-norm -1" "transform $x $x $x -o $dir/o.csv --theta -1"
  "transform $x $x $x -o $dir/o.csv --theta auto" "transform $x $x $x -o $dir/o.csv --dof 0"
  "transform $x $x $x -o $dir/o.csv --seed x" "transform $x $x $x -o $dir/o.csv --threads -1"
  "transform $x $x $x -o $dir/o.csv --log-every -1"
  "help embed" "help transform" "help evaluate" "help accuracy" "--help" "help nothing"
)

failed=0
for c in "${cases[@]}"; do
  # shellcheck disable=SC2086  # the case is split into words on purpose
  "$ref" $c >"$dir/ref.out" 2>"$dir/ref.err"; rc_ref=$?
  # shellcheck disable=SC2086
  "$new" $c >"$dir/new.out" 2>"$dir/new.err"; rc_new=$?
  if [[ $rc_ref != "$rc_new" ]] || ! cmp -s "$dir/ref.err" "$dir/new.err" || ! cmp -s "$dir/ref.out" "$dir/new.out"; then
    failed=$((failed + 1))
    echo "DIFFERS: treesne ${c//$dir/DIR} (exit $rc_ref vs $rc_new)"
    diff "$dir/ref.err" "$dir/new.err" | sed 's/^/  /' | head -10
    diff "$dir/ref.out" "$dir/new.out" | sed 's/^/  /' | head -10
  fi
done
echo "${#cases[@]} cases, $failed differ"
[[ $failed == 0 ]]

#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine with git: installs what is missing (packages and the
# Fashion-MNIST data set), builds the treesne command line (Release, -march=native) into build/, and
# embeds all 70,000 Fashion-MNIST images (train + t10k, PCA to 50 dimensions first) into a CSV file, a
# picture coloured by class and the interactive view (one HTML page with each image as a thumbnail), then
# measures the embedding's quality.
#
#   tools/run_main_job.sh
#
# Environment: BUILD_DIR (default build), OUT_DIR (default out), THREADS (default 0 = all cores),
# EVALUATE=0 to skip the evaluation.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install_deps.sh --with-fashion-mnist

build_dir="${BUILD_DIR:-build}"
out_dir="${OUT_DIR:-out}"
threads="${THREADS:-0}"
data=/usr/share/datasets/fashion-mnist

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTREESNE_NATIVE=ON \
  -DTREESNE_BUILD_TESTS=OFF -DTREESNE_BUILD_BENCHMARKS=OFF -DTREESNE_BUILD_TOOLS=ON
cmake --build "$build_dir" --target treesne_cli -j"$(nproc)"

treesne="$build_dir/tools/treesne"
mkdir -p "$out_dir"
images=("$data/train-images-idx3-ubyte.gz" "$data/t10k-images-idx3-ubyte.gz")
labels=(--labels "$data/train-labels-idx1-ubyte.gz" --labels "$data/t10k-labels-idx1-ubyte.gz")
names="T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"

"$treesne" --version
"$treesne" embed "${images[@]}" "${labels[@]}" --label-names "$names" --pca 50 --threads "$threads" \
  --verbose -o "$out_dir/fashion-mnist.csv" --plot "$out_dir/fashion-mnist.png" --html "$out_dir/fashion-mnist.html"

if [ "${EVALUATE:-1}" != 0 ]; then
  "$treesne" evaluate "${images[@]}" "$out_dir/fashion-mnist.csv" "${labels[@]}" --pca 50 \
    --threads "$threads" | tee "$out_dir/fashion-mnist-evaluation.txt"
fi

echo
echo "embedding: $(realpath "$out_dir/fashion-mnist.csv")  (70000 x 2, rows: train images then t10k)"
echo "picture:   $(realpath "$out_dir/fashion-mnist.png")"
echo "view:      $(realpath "$out_dir/fashion-mnist.html")  (open it in Chromium or Firefox)"
if [ "${EVALUATE:-1}" != 0 ]; then
  echo "quality:   $(realpath "$out_dir/fashion-mnist-evaluation.txt")"
fi

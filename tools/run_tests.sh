#!/usr/bin/env bash
# Installs what is missing, builds treesne (Release, -march=native) and runs the whole test suite.
#
#   tools/run_tests.sh [BUILD_DIR]     default build-tests/ (or $BUILD_DIR)
#
# Exits with ctest's status.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install_deps.sh

build_dir="${1:-${BUILD_DIR:-build-tests}}"
jobs="$(nproc)"

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTREESNE_NATIVE=ON \
  -DTREESNE_BUILD_TESTS=ON -DTREESNE_BUILD_TOOLS=ON
cmake --build "$build_dir" -j"$jobs"

cd "$build_dir"
exec ctest --output-on-failure -j"$jobs"

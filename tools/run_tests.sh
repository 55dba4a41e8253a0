#!/usr/bin/env bash
# Installs what is missing, builds treesne and runs the whole test suite twice:
#   1. Release, -march=native (build-tests/, or BUILD_DIR / the first argument);
#   2. under AddressSanitizer + UndefinedBehaviorSanitizer with leak detection: the `asan` preset of
#      CMakePresets.json (build-asan/; every test except the find_package consumer, which cannot link an
#      instrumented library). TREESNE_SANITIZERS=0 skips this part (about 3 minutes on 2 cores).
#
#   tools/run_tests.sh [BUILD_DIR]
#
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install_deps.sh

build_dir="${1:-${BUILD_DIR:-build-tests}}"
jobs="$(nproc)"

echo "== Release build and tests ($build_dir)"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTREESNE_NATIVE=ON \
  -DTREESNE_BUILD_TESTS=ON -DTREESNE_BUILD_TOOLS=ON
cmake --build "$build_dir" -j"$jobs"
(cd "$build_dir" && ctest --output-on-failure -j"$jobs")

if [ "${TREESNE_SANITIZERS:-1}" = 0 ]; then
  echo "== ASan + UBSan suite skipped (TREESNE_SANITIZERS=0)"
  exit 0
fi
echo "== ASan + UBSan build and tests (build-asan)"
cmake --preset asan
cmake --build --preset asan -j"$jobs"
ctest --preset asan -j"$jobs"

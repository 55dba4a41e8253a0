#!/usr/bin/env bash
# Installs what is missing, builds treesne and runs the whole test suite twice:
#   1. Release, -march=native (build-tests/, or BUILD_DIR / the first argument), then the Python
#      module's pytest suite (tests/python) against that build, then `pip install .` into a fresh
#      virtual environment and an import (TREESNE_PIP_CHECK=0 skips this);
#   2. under AddressSanitizer + UndefinedBehaviorSanitizer with leak detection: the `asan` preset of
#      CMakePresets.json (build-asan/; every test except the find_package consumer, which cannot link an
#      instrumented library; the Python module is not built there). TREESNE_SANITIZERS=0 skips this part
#      (about 3 minutes on 2 cores); TREESNE_LSAN=0 turns leak detection off (it is turned off by itself
#      where LSan cannot run).
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
python=/usr/bin/python3   # Debian's, with its numpy, pytest and pybind11 (not a pyenv or conda one)
[ -x "$python" ] || python="$(command -v python3)"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTREESNE_NATIVE=ON \
  -DTREESNE_BUILD_TESTS=ON -DTREESNE_BUILD_TOOLS=ON -DTREESNE_BUILD_PYTHON=ON -DPython3_EXECUTABLE="$python"
cmake --build "$build_dir" -j"$jobs"
(cd "$build_dir" && ctest --output-on-failure -j"$jobs")
echo "== Python module tests (pytest, $build_dir/python)"
PYTHONDONTWRITEBYTECODE=1 TREESNE_PYTHONPATH="$PWD/$build_dir/python" TREESNE_CLI="$PWD/$build_dir/tools/treesne" \
  OMP_WAIT_POLICY=passive \
  "$python" -m pytest -q -p no:cacheprovider tests/python

# The README's two lines for Python users, as written: a fresh virtual environment over Debian's
# packages, then `pip install .` (no download: the build backend is in the tree). TREESNE_PIP_CHECK=0
# skips it (about 2 minutes on 2 cores: the module is built again, in build-pip/).
if [ "${TREESNE_PIP_CHECK:-1}" != 0 ]; then
  echo "== pip install . into a fresh virtual environment, then import treesne"
  venv_dir="$(mktemp -d)"
  "$python" -m venv --system-site-packages "$venv_dir/venv"
  "$venv_dir/venv/bin/pip" install -q --no-cache-dir .
  (cd "$venv_dir" && OMP_WAIT_POLICY=passive "$venv_dir/venv/bin/python" -c '
import numpy as np, treesne
x = np.random.default_rng(0).normal(size=(300, 5))
y = treesne.TSNE(n_iter=300, perplexity=10).fit_transform(x)
assert y.shape == (300, 2) and np.isfinite(y).all()
print("installed treesne", treesne.__file__, "embeds", x.shape, "->", y.shape)')
  rm -rf "$venv_dir"
fi

if [ "${TREESNE_SANITIZERS:-1}" = 0 ]; then
  echo "== ASan + UBSan suite skipped (TREESNE_SANITIZERS=0)"
  exit 0
fi
echo "== ASan + UBSan build and tests (build-asan)"
cmake --preset asan
cmake --build --preset asan -j"$jobs"

# LeakSanitizer cannot run under ptrace or in some restricted containers ("LeakSanitizer has
# encountered a fatal error"): then run the same suite with leak detection off rather than fail on the
# environment. TREESNE_LSAN=0 asks for that directly.
lsan=1
if [ "${TREESNE_LSAN:-1}" = 0 ]; then
  lsan=0
elif ASAN_OPTIONS=detect_leaks=1 build-asan/tests/treesne_tests --test-case="neighbors: all points identical" \
     2>&1 >/dev/null | grep -q "LeakSanitizer has encountered a fatal error"; then
  echo "LeakSanitizer cannot run here; running ASan + UBSan without leak detection"
  lsan=0
fi
if [ "$lsan" = 1 ]; then
  ctest --preset asan -j"$jobs"
else
  (cd build-asan &&
   ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 OMP_WAIT_POLICY=passive \
   ctest --output-on-failure -j"$jobs" --timeout 1800 -E '^find_package_consumer$')
fi

#!/usr/bin/env bash
# Installs what is missing, builds treesne and runs the test suite in four builds:
#   1. Release, -march=native (build-tests/, or BUILD_DIR / the first argument; its ctest includes
#      view_browser, the view's page in headless Chromium, tests/browser/test_view.py), then the Python
#      module's pytest suite (tests/python) against that build, then `pip install .` into a fresh
#      virtual environment and an import (TREESNE_PIP_CHECK=0 skips this);
#   2. under AddressSanitizer + UndefinedBehaviorSanitizer with leak detection: the `asan` preset of
#      CMakePresets.json (build-asan/; every test except the find_package consumer, which cannot link an
#      instrumented library; the Python module is not built there). TREESNE_SANITIZERS=0 skips this part
#      (about 3 minutes on 2 cores); TREESNE_LSAN=0 turns leak detection off (it is turned off by itself
#      where LSan cannot run).
#   3. Debug: the `debug` preset (build-debug/), the whole suite with assert() on (Release and the
#      sanitizer builds define NDEBUG) and libstdc++'s checks (_GLIBCXX_ASSERTIONS), at -O1.
#      TREESNE_DEBUG=0 skips it.
#   4. ThreadSanitizer: the `tsan` preset (build-tsan/; clang, LLVM's OpenMP with its Archer tool,
#      see CMakeLists.txt), over the tests of the code that synchronises threads (see tsan_files
#      below). TREESNE_TSAN=0 skips it.
#
#   5. MPI: a Release build with -DTREESNE_MPI=ON (build-mpi/; Open MPI installed by install_deps.sh
#      --with-mpi), its program only, and the ctest `mpi` (tests/mpi/test_mpi.sh: mpirun with 1-4 ranks
#      against the single process, byte for byte; resume across rank counts; faults) and `mpi_nndescent`
#      (tests/mpi/test_mpi_nndescent.sh: the distributed nndescent, the same graph for 2-4 ranks, its
#      recall against the single process's). TREESNE_MPI_CHECK=0 skips it.
#
#   tools/run_tests.sh [BUILD_DIR]
#
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${TREESNE_MPI_CHECK:-1}" != 0 ]; then tools/install_deps.sh --with-mpi; else tools/install_deps.sh; fi

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

run_asan() {
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
}

run_debug() {
  echo "== Debug build (assertions on) and tests (build-debug)"
  cmake --preset debug
  cmake --build --preset debug -j"$jobs"
  ctest --preset debug -j"$jobs"
}

# ThreadSanitizer slows the code 5-15 times (hnswlib's per-node locks far more), so this pass runs the
# tests of what synchronises threads, not the whole suite. Shard 1, whole files: parallel_for's chunks and
# exception capture (test_parallel), concurrent embed() calls on every backend and concurrent reads of
# one Session (test_thread_safety), the session's loop, the tree's parallel build and walk, the gradient,
# the affinities (without test_session's end-to-end quality run: 5 minutes here for no path the others
# miss). Shard 2, from the other files, every test that compares thread counts (kNN backends, the
# pipeline, transform's repulsion, the radix sort, dof, exact SNE, theta auto) except those of the
# command line's processes, the O(N^2) oracles (accuracy, distance metrics, trustworthiness) and the
# hnsw graph at 2,400 points (6 minutes under ThreadSanitizer; test_thread_safety runs hnsw on threads).
# Measured: about 50 and 70 CPU seconds. The two shards run at once, one per core.
tsan_core_files="*test_parallel.cpp,*test_thread_safety.cpp,*test_session.cpp,*test_space_tree.cpp,*test_gradient.cpp,*test_affinities.cpp"
tsan_run() {
  OMP_TOOL_LIBRARIES="$archer" \
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$PWD/tests/tsan.supp:print_suppressions=0" \
    OMP_WAIT_POLICY=passive build-tsan/tests/treesne_tests "$@"
}
run_tsan() {
  echo "== ThreadSanitizer build and tests (build-tsan)"
  cmake --preset tsan
  cmake --build --preset tsan -j"$jobs"
  # Archer, found by CMake, passes OpenMP's synchronisation on to ThreadSanitizer; the accesses inside
  # uninstrumented libraries (libomp's own, libstdc++'s, Cairo's) are not ours to check and are ignored,
  # as Archer's documentation asks.
  local pids=() status=0
  archer="$(sed -n 's/^TREESNE_ARCHER:FILEPATH=//p' build-tsan/CMakeCache.txt)"
  tsan_run --source-file="$tsan_core_files" --test-case-exclude="end to end*" &
  pids+=($!)
  tsan_run --source-file-exclude="$tsan_core_files" --test-case="*thread*,*parallel*,*same bit*,*concurrent*" \
    --test-case-exclude="cli binary*,accuracy:*,distance metrics:*,metrics: sampled*,hnsw:*,*<hnsw>,every backend reports*" &
  pids+=($!)
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
  return "$status"
}

run_mpi() {
  echo "== MPI build (build-mpi) and the distributed tests"
  cmake -S . -B build-mpi -G Ninja -DCMAKE_BUILD_TYPE=Release -DTREESNE_NATIVE=ON -DTREESNE_MPI=ON \
    -DTREESNE_BUILD_TESTS=ON -DTREESNE_BUILD_TOOLS=ON -DTREESNE_BUILD_BENCHMARKS=OFF -DTREESNE_BUILD_PYTHON=OFF
  cmake --build build-mpi -j"$jobs" --target treesne_cli knn_graph
  (cd build-mpi && ctest --output-on-failure -R '^mpi(_nndescent)?$')
}

if [ "${TREESNE_MPI_CHECK:-1}" = 0 ]; then
  echo "== MPI suite skipped (TREESNE_MPI_CHECK=0)"
else
  run_mpi
fi
if [ "${TREESNE_SANITIZERS:-1}" = 0 ]; then
  echo "== ASan + UBSan suite skipped (TREESNE_SANITIZERS=0)"
else
  run_asan
fi
if [ "${TREESNE_DEBUG:-1}" = 0 ]; then
  echo "== Debug suite skipped (TREESNE_DEBUG=0)"
else
  run_debug
fi
if [ "${TREESNE_TSAN:-1}" = 0 ]; then
  echo "== ThreadSanitizer suite skipped (TREESNE_TSAN=0)"
else
  run_tsan
fi

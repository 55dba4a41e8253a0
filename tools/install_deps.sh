#!/usr/bin/env bash
# Installs the Debian 12 packages treesne needs to build and test, only those that are missing.
#
#   tools/install_deps.sh                       build and test dependencies
#   tools/install_deps.sh --with-fashion-mnist  also the Fashion-MNIST data set (/usr/share/datasets)
#   tools/install_deps.sh --with-mpi            also Open MPI (the -DTREESNE_MPI=ON build and its tests)
#
# Idempotent: asks dpkg first and runs apt-get (update, then install) only when something is missing.
# Needs root, or sudo, only in that case.
set -euo pipefail

packages=(
  build-essential   # g++ and libgomp (OpenMP)
  cmake
  ninja-build
  pkg-config        # finds Cairo
  libnanoflann-dev
  libhnswlib-dev    # header-only, the approximate kNN backend (--knn hnsw)
  libboost-program-options-dev
  doctest-dev
  libeigen3-dev
  libcairo2-dev
  zlib1g-dev
  python3-dev       # the Python module (python/, -DTREESNE_BUILD_PYTHON=ON) and its tests
  pybind11-dev
  python3-numpy
  python3-pytest
  python3-venv      # pip install . into a virtual environment
  python3-pip
  python3-scipy     # optional at run time: affinities() as scipy.sparse
  python3-sklearn   # optional at run time: the estimator checks and the benchmark against sklearn
  clang             # the ThreadSanitizer build (tools/run_tests.sh, preset tsan) ...
  libomp-dev        # ... with LLVM's OpenMP and its Archer tool (libarcher_static.a) ...
  libclang-rt-dev   # ... and clang's sanitizer runtimes
  libjs-three       # three.js (WebGL), inlined by 'treesne view' into its HTML page (built into the program)
  chromium          # headless, the browser of the view's tests (tests/browser/) ...
  chromium-driver   # ... driven through WebDriver ...
  python3-selenium  # ... from pytest
)

for arg in "$@"; do
  case "$arg" in
    --with-fashion-mnist) packages+=(dataset-fashion-mnist) ;;
    --with-mpi) packages+=(openmpi-bin libopenmpi-dev) ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install_deps.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install_deps.sh: all ${#packages[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install_deps.sh: missing packages (${missing[*]}); run as root or install sudo" >&2
  exit 1
fi

echo "install_deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"

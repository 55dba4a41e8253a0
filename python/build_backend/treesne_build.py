"""treesne's in-tree PEP 517 build backend: ``pip install .`` runs CMake on the project with
-DTREESNE_BUILD_PYTHON=ON, builds the extension target and writes the wheel (a zip holding the package,
its METADATA, WHEEL and RECORD) itself. It needs nothing beyond the standard library, CMake and the
compiler, so pip's isolated build environment has nothing to download (pyproject.toml: requires = []).

Environment:
  TREESNE_BUILD_DIR   the CMake build directory (default: build-pip/ in the source tree, reused by
                      later installs, so a second install only relinks)
  TREESNE_NATIVE      0 (default): a portable module, for any x86-64 machine: its kernels pick the
                      widest instruction set the CPU has at run time (baseline, AVX2, AVX-512; the
                      environment variable TREESNE_SIMD forces one), all with the same bits.
                      1 compiles for this machine's CPU (-march=native), like the CLI built by the
                      scripts, so that the module's embeddings equal that CLI's bit for bit
  CMAKE_BUILD_PARALLEL_LEVEL  build jobs (default: the number of CPUs)
"""

import base64
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile

ROOT = pathlib.Path(os.path.abspath(__file__)).parents[2]  # not resolve(): the tree may hold links
NAME = "treesne"
SUMMARY = "Barnes-Hut t-SNE engine in C++17, with a scikit-learn style Python interface"


def _version():
    text = (ROOT / "CMakeLists.txt").read_text()
    match = re.search(r"project\(\s*treesne\s+VERSION\s+([0-9.]+)", text)
    if not match:
        raise RuntimeError("treesne_build: no project(treesne VERSION ...) in CMakeLists.txt")
    return match.group(1)


def _tag():
    python = "cp%d%d" % sys.version_info[:2]
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return "%s-%s-%s" % (python, python, platform)


def _dist_info():
    return "%s-%s.dist-info" % (NAME, _version())


def _metadata():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return (
        "Metadata-Version: 2.1\n"
        "Name: %s\nVersion: %s\nSummary: %s\nLicense: see the repository\n"
        "Requires-Python: >=3.8\nRequires-Dist: numpy\n"
        "Description-Content-Type: text/markdown\n\n%s" % (NAME, _version(), SUMMARY, readme)
    )


def _wheel_file():
    return "Wheel-Version: 1.0\nGenerator: treesne_build\nRoot-Is-Purelib: false\nTag: %s\n" % _tag()


# --- PEP 517 hooks -----------------------------------------------------------------------------------


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    directory = pathlib.Path(metadata_directory) / _dist_info()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "METADATA").write_text(_metadata(), encoding="utf-8")
    (directory / "WHEEL").write_text(_wheel_file())
    return directory.name


def _build():
    """Configures and builds the extension; returns the build tree's package directory."""
    build_dir = pathlib.Path(os.environ.get("TREESNE_BUILD_DIR") or ROOT / "build-pip")
    native = os.environ.get("TREESNE_NATIVE", "0") not in ("0", "OFF", "off", "")
    configure = [
        "cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
        "-DTREESNE_BUILD_PYTHON=ON", "-DTREESNE_BUILD_TESTS=OFF", "-DTREESNE_BUILD_TOOLS=OFF",
        "-DTREESNE_BUILD_BENCHMARKS=OFF", "-DTREESNE_NATIVE=%s" % ("ON" if native else "OFF"),
        "-DPython3_EXECUTABLE=%s" % sys.executable,
    ]
    if shutil.which("ninja") and not (build_dir / "CMakeCache.txt").exists():
        configure += ["-G", "Ninja"]
    jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 1)
    for command in (configure, ["cmake", "--build", str(build_dir), "--target", "treesne_python", "-j", jobs]):
        print("treesne_build: " + " ".join(command), file=sys.stderr, flush=True)
        subprocess.run(command, check=True, stdout=sys.stderr)
    return build_dir / "python" / NAME


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    package = _build()
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    files = sorted(package.glob("*.py")) + sorted(package.glob("_treesne*" + suffix))
    if not any(f.name.startswith("_treesne") for f in files):
        raise RuntimeError("treesne_build: the extension %s_treesne%s was not built" % (package, suffix))
    name = "%s-%s-%s.whl" % (NAME, _version(), _tag())
    dist_info = _dist_info()
    records = []
    path = pathlib.Path(wheel_directory) / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        def add(arcname, data):
            wheel.writestr(arcname, data)
            records.append(_record_line(arcname, data))

        for f in files:
            add("%s/%s" % (NAME, f.name), f.read_bytes())
        add(dist_info + "/METADATA", _metadata().encode("utf-8"))
        add(dist_info + "/WHEEL", _wheel_file().encode())
        records.append(dist_info + "/RECORD,,")
        wheel.writestr(dist_info + "/RECORD", "\n".join(records) + "\n")
    return name


def build_sdist(sdist_directory, config_settings=None):
    """The git-tracked files (or, outside git, the tree without build directories) as a tar.gz."""
    base = "%s-%s" % (NAME, _version())
    try:
        listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], check=True, capture_output=True)
        paths = [p for p in listed.stdout.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        paths = [
            str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
            if p.is_file() and not p.relative_to(ROOT).parts[0].startswith(("build", ".git", "out"))
        ]
    name = base + ".tar.gz"
    with tarfile.open(pathlib.Path(sdist_directory) / name, "w:gz") as tar:
        for p in paths:
            if (ROOT / p).is_file():
                tar.add(str(ROOT / p), arcname="%s/%s" % (base, p), recursive=False)
        info = tarfile.TarInfo("%s/PKG-INFO" % base)
        data = _metadata().encode("utf-8")
        info.size = len(data)
        import io

        tar.addfile(info, io.BytesIO(data))
    return name

# Sourced by the benchmark scripts (degenerate.sh, million.sh, transform.sh, peers.sh): their option
# loop and --help, the checks for the tools they need, building the programs they run, and reading wall
# time and peak memory from GNU time's report. Not a program of its own.
#
# After `source "$(dirname "${BASH_SOURCE[0]}")/common.sh"`: $here is benchmarks/, $root the repository.

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
bench_name="$(basename "$0")"

# The comment block at the top of the calling script (after the #! line), without its "# ".
bench_usage() {
    awk 'NR == 1 { next } !/^#/ { exit } { sub(/^# ?/, ""); print }' "$0"
}

# bench_fail STATUS MESSAGE: one line "script: MESSAGE" on stderr, then exit STATUS.
bench_fail() {
    echo "$bench_name: $2" >&2
    exit "$1"
}

# bench_parse_options "VAR VAR ..." "$@": each "--some-var VALUE" sets the shell variable some_var when it
# is in the list; "--" puts the remaining arguments in the array `extra`; -h/--help prints the usage.
bench_parse_options() {
    local names=" $1 "
    shift
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --) shift; extra=("$@"); return ;;
            -h|--help) bench_usage; exit 0 ;;
        esac
        local var="${1#--}"
        var="${var//-/_}"
        if [[ "$1" == --* && "$names" == *" $var "* && $# -ge 2 ]]; then
            printf -v "$var" '%s' "$2"
            shift 2
        else
            bench_fail 2 "unknown option $1 (see --help)"
        fi
    done
}

# bench_install_missing PACKAGE...: installs with apt-get (through sudo unless root) the Debian packages
# that are not installed yet; nothing when all are.
bench_install_missing() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [[ ${#missing[@]} -gt 0 ]] || return 0
    echo "installing ${missing[*]}" >&2
    local sudo_cmd=()
    [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

bench_require_time() {
    [[ -x /usr/bin/time ]] || bench_fail 1 "needs GNU time (/usr/bin/time; Debian package 'time')"
}

# bench_build BUILD TARGET...: configures BUILD (Release, native) unless it is configured, then builds the
# targets (incrementally, so the binaries measured are the working tree's).
bench_build() {
    local build="$1"
    shift
    [[ -f "$build/build.ninja" ]] ||
        cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTREESNE_NATIVE=ON >/dev/null
    cmake --build "$build" --target "$@" >/dev/null
}

# From a report of `/usr/bin/time -v`: wall seconds ("Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02.34"
# -> 62.34) and the peak resident set size in MiB with one decimal.
bench_wall_seconds() {
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$1"
}
bench_rss_mib() {
    awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"
}

# bench_quality_row JSON TOOL N: one line of quality.csv (tool,n,kl,knn_preservation,trustworthiness,
# knn_accuracy) from the report of `treesne evaluate --json` in the file JSON.
bench_quality_row() {
    /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
def pick(*names):
    for k in names:
        for key, value in d.items():
            if key.lower().replace("-", "_") == k:
                return value
    return ""
print(",".join(str(x) for x in [sys.argv[2], sys.argv[3],
      pick("kl", "kl_divergence", "exact_kl"), pick("knn_preservation", "neighbor_preservation", "preservation"),
      pick("trustworthiness"), pick("knn_accuracy", "accuracy")]))
PY
}

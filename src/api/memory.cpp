// Memory estimates of embed() and the memory this process may still allocate. The sizes follow the data
// structures of the stages (see memory.hpp for the formulas); keep them in step when a stage changes.
#include "treesne/api/memory.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>

#include "treesne/affinities/affinities.hpp"
#include "treesne/core/errors.hpp"

namespace treesne {
namespace {

// Row blocks of the PCA's covariance sums (pca.cpp): one D x D partial sum per block.
constexpr double pca_block_rows = 2048;

// "MemAvailable:" of /proc/meminfo in bytes, or -1.
double meminfo_available() {
    std::ifstream meminfo("/proc/meminfo");
    std::string key, unit;
    double kib = 0;
    while (meminfo >> key >> kib >> unit)
        if (key == "MemAvailable:") return kib * 1024.0;
    return -1;
}

// The first number in a file, or -1 ("max" and unreadable files give -1).
double read_number(const std::string& path) {
    std::ifstream in(path);
    double v = -1;
    if (!(in >> v)) return -1;
    return v;
}

// The value of `key` in a cgroup memory.stat file, or 0.
double stat_value(const std::string& path, const std::string& key) {
    std::ifstream in(path);
    std::string name;
    double v = 0;
    while (in >> name >> v)
        if (name == key) return v;
    return 0;
}

// Room left under the memory cgroup's limit (v2, then v1), counting inactive page cache as free because
// the kernel reclaims it before it kills anything; -1 without a limit.
double cgroup_room() {
    struct Layout {
        const char *limit, *usage, *stat, *inactive;
    };
    static const Layout layouts[] = {
        {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory.stat",
         "inactive_file"},
        {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes",
         "/sys/fs/cgroup/memory/memory.stat", "total_inactive_file"},
    };
    for (const Layout& l : layouts) {
        const double limit = read_number(l.limit);
        // cgroup v1 reports "no limit" as a huge page-aligned number.
        if (limit <= 0 || limit >= 0x1p60) continue;
        const double usage = read_number(l.usage);
        if (usage < 0) continue;
        const double reclaimable = stat_value(l.stat, l.inactive);
        return std::max(0.0, limit - usage + std::min(reclaimable, usage));
    }
    return -1;
}

// Entries of the symmetrised P per kNN edge: between 1 (every neighbourhood mutual) and 2 (none);
// measured 1.43 on Fashion-MNIST 70,000 (PCA-50, perplexity 30) and 1.5 on 1,000,000 clustered 50-D
// points with the exact graph, and 1.73 on the same points with nndescent's (its misses are rarely
// mutual) (benchmarks/RESULTS.md, section 6).
constexpr double symmetric_fill = 1.5;
constexpr double symmetric_fill_approximate = 1.75;

// The kNN backend's own buffers beyond the graph.
// The stage also counts the graph itself (12 N k bytes); what a backend needs beyond it is returned.
double neighbor_search_bytes(KnnBackend backend, double n, double d, double k, const NeighborOptions& o) {
    switch (backend) {
        case KnnBackend::brute:
            return n * (8 * d + 16);  // a float copy of the rows, twice, and their norms
        case KnnBackend::kdtree:
            return n * 16;
        case KnnBackend::hnsw: {
            // hnswlib: each point's float row and bottom-layer links (2 M of 4 bytes), and about 110
            // bytes more a point (link count, label, upper-layer pointer and links, lock, visited
            // lists, the search's results), measured at 1,000,000 x 50 (RESULTS.md, section 6).
            const double m = o.hnsw_m;
            return n * (4 * d + 8 * m + 110);
        }
        case KnnBackend::nndescent: {
            // knn/nndescent.cpp: while the graph is refined, the output's indices (4 N k, part of the
            // graph's 12 N k), the working float distances (4 N k) and flags (N k), the float copy of
            // the points (4 N D), the reverse lists (5 bytes x 32 per point), labels, locks and worst
            // distances (17 N); while the first graph is built, 4 N per tree as well. The exact
            // distances (8 N k) are allocated after the working buffers are freed.
            const double trees = o.nndescent_trees > 0 ? o.nndescent_trees : 8;
            const double working = n * (9 * k + 4 * d + 5 * 32 + 17 + 4 * trees);
            return std::max(0.0, working - 12 * n * k);
        }
        default:
            return n * 16;
    }
}

void add(MemoryStage& stage, const char* name, double bytes) {
    if (bytes <= 0) return;
    stage.parts.emplace_back(name, bytes);
    stage.bytes += bytes;
}

}  // namespace

std::string format_bytes(double bytes) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 8) {
        bytes /= 1024.0;
        ++u;
    }
    char buffer[48];
    if (u == 0) {
        std::snprintf(buffer, sizeof buffer, "%.0f B", bytes);
    } else {
        std::snprintf(buffer, sizeof buffer, bytes < 100 ? "%.1f %s" : "%.0f %s", bytes, units[u]);
    }
    return buffer;
}

MemoryEstimate estimate_memory(index_t n_points, index_t d_input, const Options& options,
                               bool keep_affinities, bool input_released) {
    MemoryEstimate e;
    const double n = static_cast<double>(std::max<index_t>(n_points, 0));
    const double d = static_cast<double>(std::max<index_t>(d_input, 0));
    const bool reduce = options.pca_dims > 0 && options.pca_dims < d_input;
    const double d_used = reduce ? static_cast<double>(options.pca_dims) : d;
    const double dims = static_cast<double>(options.dims);
    // The k the run searches and keeps: --k when given, else 3 x the largest perplexity (multiscale runs
    // search for the largest scale), whatever the kernel; never more than the other points.
    const double k = static_cast<double>(std::clamp<index_t>(neighbor_count(options.affinities, n_points), 0,
                                                             std::max<index_t>(n_points - 1, 0)));
    const double offsets = (n + 1) * 8;
    e.input = n * d * 8;
    if (reduce) e.pca = n * d_used * 8 + std::ceil(n / pca_block_rows) * d * d * 8;
    // The session holds Y, gains, velocity and the gradient; Y0 and the returned copy come and go.
    e.session = 6 * n * dims * 8;
    if (options.optimizer.method == Method::barnes_hut) {
        const KnnBackend backend = resolve_backend(options.neighbors.backend, n_points,
                                                   static_cast<index_t>(d_used), options.neighbors.metric);
        e.neighbor_search = neighbor_search_bytes(backend, n, d_used, k, options.neighbors);
        // cosine searches a unit-length copy of the rows
        if (options.neighbors.metric == Metric::cosine) e.neighbor_search += n * d_used * 8;
        e.neighbors = n * k * (4 + 8);
        // float conditionals, then a counter a point per block (symmetrize) while P is assembled
        e.affinity_workspace =
            n * k * 4 + n * 4 * static_cast<double>(symmetrize_blocks(n_points, options.threads));
        const bool approximate = backend == KnnBackend::hnsw || backend == KnnBackend::nndescent;
        const double fill = approximate ? symmetric_fill_approximate : symmetric_fill;
        e.affinities = (fill * n * k * (4 + 4) + offsets) * (keep_affinities ? 2 : 1);
        const double node = 8 + 8 * dims + 4 * dims * (dims + 1) + 16;
        e.tree = n * (4 + 8 + 8 + 4 + 8 + 8 * dims) + 2 * n / 8 * node;
        // barnes_hut_gradient's attraction buffer (GradientWorkspace), used on 2 to 4 threads
        e.session += n * dims * 8;
    } else {
        e.dense = 3 * n * n * 8;
    }
    // Each stage lists the buffers alive during it; the input lives throughout unless embed() owns it
    // (embed(Matrix&&)), which frees it, and its PCA copy, once the neighbours and Y0 are computed.
    const double kept_input = input_released ? 0.0 : e.input;
    const double kept_pca = input_released ? 0.0 : e.pca;
    auto stage = [&](const char* name, double input,
                     std::initializer_list<std::pair<const char*, double>> parts) {
        MemoryStage s{name, {}, 0};
        add(s, "input", input);
        for (const auto& [part, bytes] : parts) add(s, part, bytes);
        e.stages.push_back(std::move(s));
    };
    if (reduce) stage("pca", e.input, {{"PCA", e.pca}});
    if (options.optimizer.method == Method::barnes_hut) {
        stage("neighbours", e.input,
              {{"PCA copy", e.pca}, {"kNN graph", e.neighbors}, {"search buffers", e.neighbor_search}});
        // Calibration: the whole graph and the conditionals; then the distances are freed and P is built
        // beside the graph's indices and the conditionals.
        stage("affinities", kept_input,
              {{"PCA copy", kept_pca}, {"kNN graph", e.neighbors}, {"P workspace", n * k * 4}});
        stage("affinities", kept_input,
              {{"PCA copy", kept_pca},
               {"kNN indices", n * k * 4},
               {"P workspace", e.affinity_workspace},
               {"P", e.affinities}});
        stage("optimise", kept_input,
              {{"PCA copy", kept_pca}, {"P", e.affinities}, {"optimiser", e.session}, {"tree", e.tree}});
    } else {
        stage("affinities", e.input, {{"PCA copy", e.pca}, {"dense P", e.dense}});
        stage("optimise", e.input, {{"PCA copy", e.pca}, {"dense P", n * n * 8}, {"optimiser", e.session}});
    }
    for (std::size_t i = 0; i < e.stages.size(); ++i) {
        if (e.stages[i].bytes > e.peak) {
            e.peak = e.stages[i].bytes;
            e.peak_stage = i;
        }
    }
    return e;
}

std::string MemoryEstimate::describe() const {
    std::ostringstream out;
    out << format_bytes(peak);
    if (stages.empty()) return out.str();
    const MemoryStage& s = stages[peak_stage];
    out << " (" << s.name << ": ";
    for (std::size_t i = 0; i < s.parts.size(); ++i)
        out << (i ? ", " : "") << s.parts[i].first << ' ' << format_bytes(s.parts[i].second);
    out << ')';
    return out.str();
}

std::optional<double> available_memory() {
    const double meminfo = meminfo_available();
    const double cgroup = cgroup_room();
    if (meminfo < 0 && cgroup < 0) return std::nullopt;
    if (meminfo < 0) return cgroup;
    if (cgroup < 0) return meminfo;
    return std::min(meminfo, cgroup);
}

void require_memory(const MemoryEstimate& estimate, double available, Method method) {
    // The input is already in memory, so only the rest has to fit in what is left.
    const double needed = estimate.peak - estimate.input;
    if (!(needed > available)) return;
    throw NumericalError(
        concat("this embedding needs about ", estimate.describe(), " but ",
               format_bytes(std::max(0.0, available)), " is available besides the input already loaded; ",
               method == Method::barnes_hut
                   ? "use fewer points, a smaller perplexity, or PCA to fewer dimensions first (pca_dims)"
                   : "use method barnes_hut, which needs O(N k) memory instead of O(N^2)"));
}

MemoryStage memory_stage(const std::string& name,
                         std::initializer_list<std::pair<const char*, double>> parts) {
    MemoryStage stage{name, {}, 0};
    for (const auto& [part, bytes] : parts) {
        if (!(bytes > 0)) continue;
        stage.parts.emplace_back(part, bytes);
        stage.bytes += bytes;
    }
    return stage;
}

MemoryEstimate memory_estimate(double input, std::vector<MemoryStage> stages) {
    MemoryEstimate e;
    e.input = input;
    e.stages = std::move(stages);
    for (std::size_t i = 0; i < e.stages.size(); ++i) {
        if (e.stages[i].bytes > e.peak) {
            e.peak = e.stages[i].bytes;
            e.peak_stage = i;
        }
    }
    return e;
}

}  // namespace treesne

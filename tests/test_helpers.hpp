// Deterministic data generators and small utilities shared by the tests: one definition of each, so that
// every test file draws its data the same way (and the binary has one `gaussian`, not two). Oracles of
// the gradient and the tree are in helpers/oracles.hpp, of the kNN graph in helpers/graphs.hpp, and the
// helpers that run the treesne program in helpers/cli_runs.hpp.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <random>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "treesne/affinities/affinities.hpp"
#include "treesne/api/embed.hpp"
#include "treesne/core/types.hpp"

namespace treesne::testing {

/// True in an AddressSanitizer build (GCC's macro or Clang's feature test): its shadow memory changes
/// every memory measurement, and it refuses address-space limits.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

/// The embedding dimensions as types, for TEST_CASE_TEMPLATE(name, T, Dim1, Dim2, Dim3) { T::value ... }.
using Dim1 = std::integral_constant<int, 1>;
using Dim2 = std::integral_constant<int, 2>;
using Dim3 = std::integral_constant<int, 3>;

// --- random numbers ---------------------------------------------------------------------------------

/// Standard normal from a fixed-seed engine via Box-Muller on 53-bit uniforms (u1 in (0, 1), never 0, so
/// the log is finite). The standard library's normal_distribution differs between implementations; this
/// does not (the tests need fixed data, not cross-platform bit identity).
inline double gaussian(std::mt19937_64& rng) {
    const double u1 = (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53;
    const double u2 = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

/// rows x cols entries offset + sd * N(0, 1), filled row by row from mt19937_64(seed).
inline Matrix random_matrix(index_t rows, index_t cols, std::uint64_t seed, double sd = 1.0,
                            double offset = 0.0) {
    std::mt19937_64 rng(seed);
    Matrix m(rows, cols);
    for (index_t i = 0; i < m.size(); ++i) m.data()[i] = offset + sd * gaussian(rng);
    return m;
}

// --- clusters ---------------------------------------------------------------------------------------

/// Gaussian blobs around given centres (one row each): per_cluster rows for every centre, in cluster
/// order; the noise of cluster c has sd widths[c % widths.size()]. labels (if given) receives the cluster
/// of each row.
inline Matrix blobs(const Matrix& centres, index_t per_cluster, std::mt19937_64& rng,
                    const std::vector<double>& widths = {1.0}, std::vector<int>* labels = nullptr) {
    const index_t clusters = centres.rows(), dims = centres.cols();
    Matrix x(clusters * per_cluster, dims);
    if (labels) labels->clear();
    for (index_t c = 0; c < clusters; ++c) {
        const double width = widths[static_cast<std::size_t>(c) % widths.size()];
        for (index_t p = 0; p < per_cluster; ++p) {
            const index_t i = c * per_cluster + p;
            for (index_t d = 0; d < dims; ++d) x(i, d) = centres(c, d) + width * gaussian(rng);
            if (labels) labels->push_back(static_cast<int>(c));
        }
    }
    return x;
}

inline Matrix blobs(const Matrix& centres, index_t per_cluster, std::uint64_t seed,
                    const std::vector<double>& widths = {1.0}, std::vector<int>* labels = nullptr) {
    std::mt19937_64 rng(seed);
    return blobs(centres, per_cluster, rng, widths, labels);
}

/// `clusters` unit-sd Gaussian blobs of `per_cluster` points in `dims` dimensions around centres drawn
/// from N(0, spread^2), all from one mt19937_64(seed) stream (centres first).
inline Matrix clustered(index_t clusters, index_t per_cluster, index_t dims, std::uint64_t seed,
                        double spread = 10.0, std::vector<int>* labels = nullptr) {
    std::mt19937_64 rng(seed);
    Matrix centres(clusters, dims);
    for (index_t i = 0; i < centres.size(); ++i) centres.data()[i] = spread * gaussian(rng);
    return blobs(centres, per_cluster, rng, {1.0}, labels);
}

// --- runs -----------------------------------------------------------------------------------------

/// A quick run: perplexity 10, `iterations` iterations, `threads` threads, defaults otherwise.
inline Options quick_options(index_t iterations, int threads = 2) {
    Options o;
    o.affinities.perplexity = 10;
    o.optimizer.iterations = iterations;
    o.threads = threads;
    return o;
}

/// Default neighbour options but for `backend` and the integer settings in `set` (field, value).
inline NeighborOptions neighbor_options(KnnBackend backend,
                                        std::initializer_list<std::pair<int NeighborOptions::*, int>> set) {
    NeighborOptions o;
    o.backend = backend;
    for (const auto& [field, value] : set) o.*field = value;
    return o;
}

/// Callbacks that append every checkpoint of the run to *saved, one every `every` iterations.
inline Callbacks saving_checkpoints(std::vector<OptimizerState>& saved, index_t every) {
    Callbacks cb;
    cb.checkpoint = [&saved](const OptimizerState& s) { saved.push_back(s); };
    cb.checkpoint_every = every;
    return cb;
}

// --- matrices ---------------------------------------------------------------------------------------

/// P of x at a perplexity, as embed() computes it (automatic kNN backend, 2 threads).
inline Affinities affinities_of(const Matrix& x, double perplexity) {
    AffinityOptions o;
    o.perplexity = perplexity;
    return compute_affinities(
        nearest_neighbors(x, neighbor_count(perplexity, x.rows()), KnnBackend::automatic, 2), o, 2);
}

/// Z = sum_{i != j} (1 + |y_i - y_j|^2)^-1 by a direct double loop: the oracle of every Z.
inline double direct_z(const Matrix& y) {
    double z = 0;
    for (index_t i = 0; i < y.rows(); ++i)
        for (index_t j = 0; j < y.rows(); ++j)
            if (i != j) {
                double d2 = 0;
                for (index_t d = 0; d < y.cols(); ++d) d2 += (y(i, d) - y(j, d)) * (y(i, d) - y(j, d));
                z += 1 / (1 + d2);
            }
    return z;
}

/// Dense copy of a sparse matrix.
inline Matrix densify(const SparseMatrix& p) {
    Matrix out(p.n, p.n);
    for (index_t i = 0; i < p.n; ++i)
        for (index_t e = p.offsets[i]; e < p.offsets[i + 1]; ++e) out(i, p.columns[e]) = p.values[e];
    return out;
}

inline double norm(const Matrix& m) {
    double s = 0;
    for (index_t i = 0; i < m.size(); ++i) s += m.data()[i] * m.data()[i];
    return std::sqrt(s);
}

/// |approx - exact| / |exact| in the Frobenius norm.
inline double relative_error(const Matrix& approx, const Matrix& exact) {
    double diff = 0;
    for (index_t i = 0; i < exact.size(); ++i) {
        const double t = approx.data()[i] - exact.data()[i];
        diff += t * t;
    }
    return std::sqrt(diff) / norm(exact);
}

// --- strings and errors ------------------------------------------------------------------------------

inline bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// The number of '\n' in text.
inline std::size_t count_lines(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

/// The message of the exception of type E that fn throws, or `none` when it throws nothing (another
/// exception type propagates).
template <class E = std::exception>
std::string message_of(const std::function<void()>& fn, const std::string& none = "") {
    try {
        fn();
    } catch (const E& e) {
        return e.what();
    }
    return none;
}

// --- files ------------------------------------------------------------------------------------------

/// The bytes of a file ("" when it cannot be read).
inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Writes `bytes` to a file, replacing it.
inline void spit(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

/// A fresh, empty directory under the system temp directory, removed with everything in it at scope exit.
/// Permissions are restored before the removal, so a test may lock a subdirectory.
class TempDir {
  public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                ("treesne_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        namespace fs = std::filesystem;
        std::error_code ec;
        fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
        for (const auto& entry : fs::recursive_directory_iterator(path_, ec))
            if (entry.is_directory(ec))
                fs::permissions(entry.path(), fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    /// The path of `name` inside the directory.
    std::string operator/(const std::string& name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }
    /// Names of the entries in the directory, sorted.
    std::vector<std::string> files() const {
        std::vector<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(path_))
            names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }

  private:
    std::filesystem::path path_;
};

}  // namespace treesne::testing

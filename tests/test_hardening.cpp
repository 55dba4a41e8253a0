// Hardening: degenerate data (duplicates, constants, ties, extreme magnitudes) through embed(), the
// memory estimate and its refusal, checkpoints and bit-identical resumption, and reproducibility across
// thread counts and exact kNN backends. Small N and one thread (ctest runs the tests in parallel), so
// the whole file takes a few seconds.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/io/checkpoint.hpp"
#include "treesne/api/memory.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

Options small_options(index_t iterations = 250) {
    Options o = quick_options(iterations, 1);
    o.optimizer.exaggeration_iterations = 100;
    return o;
}

void check_finite(const Matrix& y, index_t rows, index_t cols) {
    REQUIRE(y.rows() == rows);
    REQUIRE(y.cols() == cols);
    for (double v : y.storage()) REQUIRE(std::isfinite(v));
}

/// The degenerate inputs of the hardening issue, N x D, deterministic.
struct Degenerate {
    const char* name;
    Matrix x;
};

std::vector<Degenerate> degenerate_inputs(index_t n) {
    const index_t d = 6;
    std::vector<Degenerate> out;
    {  // 60% of the rows are copies of one row, 20% copies of another
        Matrix x = random_matrix(n, d, 1);
        for (index_t i = 0; i < n; ++i)
            for (index_t j = 0; j < d; ++j)
                if (i % 10 < 6)
                    x(i, j) = x(0, j);
                else if (i % 10 < 8)
                    x(i, j) = x(1, j);
        out.push_back({"80% exact duplicates", x});
    }
    {  // only three distinct points
        Matrix x = random_matrix(n, d, 2);
        for (index_t i = 0; i < n; ++i)
            for (index_t j = 0; j < d; ++j) x(i, j) = x(i % 3, j);
        out.push_back({"three distinct points", x});
    }
    out.push_back({"all points identical", Matrix(n, d, 3.25)});
    out.push_back({"all zero", Matrix(n, d, 0.0)});
    {
        Matrix x = random_matrix(n, d, 3);
        for (index_t i = 0; i < n; ++i) x(i, 2) = 7.0;
        out.push_back({"one constant column", x});
    }
    {  // every coordinate 1 + m * 1e-12, m in 0..999
        Matrix x(n, d);
        std::mt19937_64 rng(4);
        for (double& v : x.storage()) v = 1.0 + 1e-12 * static_cast<double>(rng() % 1000);
        out.push_back({"points differing by 1e-12", x});
    }
    {  // integers 0..2: 3^6 = 729 cells for N points, many exact ties and duplicates
        Matrix x(n, d);
        std::mt19937_64 rng(5);
        for (double& v : x.storage()) v = static_cast<double>(rng() % 3);
        out.push_back({"integer grid with ties", x});
    }
    out.push_back({"magnitude 1e150", random_matrix(n, d, 6, 1e150)});
    out.push_back({"magnitude 1e-150", random_matrix(n, d, 6, 1e-150)});
    out.push_back({"magnitude 1e300", random_matrix(n, d, 6, 1e300)});
    out.push_back({"magnitude 1e-300", random_matrix(n, d, 6, 1e-300)});
    out.push_back({"subnormal 1e-315", random_matrix(n, d, 6, 1e-315)});
    {
        Matrix x = random_matrix(n, d, 7, 1e140);
        for (double& v : x.storage()) v += 1e150;
        out.push_back({"1e150 offset, 1e140 spread", x});
    }
    {
        Matrix x = random_matrix(n, d, 8);
        for (index_t i = 0; i < n; ++i) x(i, 0) *= 1e150;
        out.push_back({"one column 1e150, the rest 1", x});
    }
    return out;
}

/// Of the points that are one of at least `group` exact copies of a row of x, the fraction whose nearest
/// point in the embedding y is such a copy; NaN when there are none.
double nearest_is_copy(const Matrix& x, const Matrix& y, int group = 10) {
    std::map<std::vector<double>, int> ids;
    std::vector<int> id;
    for (index_t i = 0; i < x.rows(); ++i)
        id.push_back(ids.emplace(std::vector<double>(x.row(i), x.row(i) + x.cols()), static_cast<int>(ids.size()))
                         .first->second);
    std::vector<int> copies(ids.size(), 0);
    for (int v : id) ++copies[static_cast<std::size_t>(v)];
    index_t with_copy = 0, nearest_copy = 0;
    for (index_t i = 0; i < x.rows(); ++i) {
        if (copies[static_cast<std::size_t>(id[static_cast<std::size_t>(i)])] < group) continue;
        ++with_copy;
        index_t best = -1;
        double best_d = std::numeric_limits<double>::infinity();
        for (index_t j = 0; j < y.rows(); ++j) {
            if (j == i) continue;
            double d = 0;
            for (index_t c = 0; c < y.cols(); ++c) d += (y(i, c) - y(j, c)) * (y(i, c) - y(j, c));
            if (d < best_d) best_d = d, best = j;
        }
        nearest_copy += id[static_cast<std::size_t>(best)] == id[static_cast<std::size_t>(i)];
    }
    return with_copy == 0 ? std::nan("") : static_cast<double>(nearest_copy) / static_cast<double>(with_copy);
}

/// The data as embed() computes P from it: multiplied by the power of two that brings its largest |value|
/// into [0.5, 1) when that is outside [2^-100, 2^100] (exact, so P is the original data's).
Matrix as_embed_scales(const Matrix& x) {
    double max_abs = 0;
    for (double v : x.storage()) max_abs = std::max(max_abs, std::abs(v));
    int exponent = 0;
    if (max_abs > 0) std::frexp(max_abs, &exponent);
    if (exponent <= 100 && exponent >= -100) return x;
    Matrix scaled = x;
    for (double& v : scaled.storage()) v = std::ldexp(v, -exponent);
    return scaled;
}

}  // namespace

// --- degenerate data --------------------------------------------------------------------------------

TEST_CASE(
    "degenerate inputs run to completion with finite output, the same for both exact kNN backends and finite "
    "with hnsw") {
    const index_t n = 300;
    for (const Degenerate& input : degenerate_inputs(n)) {
        CAPTURE(input.name);
        for (InitKind init : {InitKind::pca, InitKind::random}) {
            CAPTURE(std::string(to_string(init)));
            Options o = small_options();
            o.init = init;
            o.neighbors.backend = KnnBackend::kdtree;
            const Result kd = embed(input.x, o);
            check_finite(kd.y, n, 2);
            CHECK(std::isfinite(kd.kl));
            CHECK(kd.iterations == o.optimizer.iterations);
            o.neighbors.backend = KnnBackend::brute;
            const Result brute = embed(input.x, o);
            CHECK(brute.y == kd.y);  // exact backends give the same graph, hence the same embedding
            // The approximate backend may choose other neighbours, but must run to a finite end too.
            o.neighbors.backend = KnnBackend::hnsw;
            const Result approximate = embed(input.x, o);
            check_finite(approximate.y, n, 2);
            CHECK(std::isfinite(approximate.kl));
            CHECK(approximate.iterations == o.optimizer.iterations);
        }
    }
}

TEST_CASE("copies of one row become one tight cluster, not a pile on one spot") {
    // Half of the rows are one repeated row; the rest are three clusters. With ties broken by index the
    // copies would all choose the same few copies as neighbours, keep identical P rows and coincide.
    const index_t n = 600, half = n / 2;
    Matrix x = clustered(3, half / 3, 6, 40);
    Matrix data(n, 6);
    for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < 6; ++j) data(i, j) = i < half ? 100.0 + j : x(i - half, j);
    Options o = small_options(400);
    const Result r = embed(data, o);
    check_finite(r.y, n, 2);

    std::vector<std::pair<double, double>> spots;
    for (index_t i = 0; i < half; ++i) spots.emplace_back(r.y(i, 0), r.y(i, 1));
    std::sort(spots.begin(), spots.end());
    const auto distinct = std::unique(spots.begin(), spots.end()) - spots.begin();
    CHECK(distinct > half * 9 / 10);

    // Neighbourhoods in the embedding: a copy's 10 nearest are copies, another point's are not.
    index_t same = 0;
    for (index_t i = 0; i < n; ++i) {
        std::vector<std::pair<double, index_t>> by_distance;
        for (index_t j = 0; j < n; ++j)
            if (j != i) {
                const double dx = r.y(i, 0) - r.y(j, 0), dy = r.y(i, 1) - r.y(j, 1);
                by_distance.emplace_back(dx * dx + dy * dy, j);
            }
        std::partial_sort(by_distance.begin(), by_distance.begin() + 10, by_distance.end());
        for (index_t t = 0; t < 10; ++t)
            same += (by_distance[static_cast<std::size_t>(t)].second < half) == (i < half);
    }
    CHECK(static_cast<double>(same) / static_cast<double>(10 * n) > 0.98);
}

TEST_CASE("degenerate inputs: 1-D and 3-D embeddings, and the exact methods") {
    // Not only finite: in 1-D and 3-D trees, where coincident points are the degenerate case, the copies
    // of a row (in groups of 10 or more) end up next to each other; the exact methods report the true KL
    // of their result.
    const index_t n = 200;
    for (const Degenerate& input : degenerate_inputs(n)) {
        CAPTURE(std::string(input.name));
        for (int dims : {1, 3}) {
            CAPTURE(dims);
            Options o = small_options(200);
            o.dims = dims;
            o.init = InitKind::random;
            const Matrix y = embed(input.x, o).y;
            check_finite(y, n, dims);
            const double copies_together = nearest_is_copy(input.x, y);
            CAPTURE(copies_together);
            if (!std::isnan(copies_together)) CHECK(copies_together >= 0.9);
        }
        const Matrix data = as_embed_scales(input.x);
        for (Method method : {Method::exact_tsne, Method::exact_sne}) {
            CAPTURE(std::string(to_string(method)));
            Options o = small_options(120);
            o.optimizer.method = method;
            const Result r = embed(input.x, o);
            check_finite(r.y, n, 2);
            const Matrix conditional = dense_conditional_probabilities(data, o.affinities, 1);
            const Matrix joint = dense_joint_probabilities(conditional, 1);
            const bool tsne = method == Method::exact_tsne;
            const double kl = tsne ? exact_tsne_kl(joint, r.y, 1) : exact_sne_kl(conditional, r.y, 1);
            CHECK(r.kl == doctest::Approx(kl).epsilon(1e-9));
        }
    }
}

TEST_CASE("extreme magnitudes are rescaled by a power of two: the result equals that of the scaled data") {
    const Matrix unit = random_matrix(250, 5, 11);
    for (int exponent : {-1060, -900, -498, -101, 101, 498, 990}) {
        CAPTURE(exponent);
        Matrix big(unit.rows(), unit.cols());
        for (index_t i = 0; i < unit.size(); ++i) big.data()[i] = std::ldexp(unit.data()[i], exponent);
        Options o = small_options(150);
        o.init = InitKind::random;
        const Result r = embed(big, o);
        check_finite(r.y, unit.rows(), 2);
        // unit's largest |value| is in [2, 4); embed() brings both to [0.5, 1) by the same exact scaling,
        // except in the subnormal range, where the scaled input has lost bits.
        if (exponent > -1022) {
            Matrix reference(unit.rows(), unit.cols());
            double max_abs = 0;
            for (double v : unit.storage()) max_abs = std::max(max_abs, std::abs(v));
            int e = 0;
            std::frexp(max_abs, &e);
            for (index_t i = 0; i < unit.size(); ++i) reference.data()[i] = std::ldexp(unit.data()[i], -e);
            CHECK(embed(reference, o).y == r.y);
        }
    }
}

TEST_CASE("unusable inputs fail with one clear message") {
    Options o = small_options(50);
    Matrix x = random_matrix(100, 4, 12);
    x(17, 2) = std::numeric_limits<double>::quiet_NaN();
    std::string message = message_of([&] { embed(x, o); });
    CHECK(contains(message, "non-finite"));
    CHECK(contains(message, "row 18, column 3"));
    x(17, 2) = std::numeric_limits<double>::infinity();
    CHECK(contains(message_of([&] { embed(x, o); }), "row 18, column 3"));
    x(17, 2) = 0;

    CHECK_THROWS_AS(embed(Matrix(1, 3, 1.0), o), InvalidArgument);
    // Perplexity 10 needs N - 1 > 10; with fewer than 31 points every other point is a neighbour.
    message = message_of([&] { embed(Matrix(11, 3, 1.0), o); });
    CHECK(contains(message, "perplexity 10 must be below N - 1 = 10 for 11 points"));
    check_finite(embed(random_matrix(12, 3, 14), o).y, 12, 2);
    Matrix one_column = random_matrix(100, 1, 13);
    message = message_of([&] { embed(one_column, o); });  // PCA init of a 1-column input into 2-D
    CHECK(contains(message, "--init random"));
    o.init = InitKind::random;
    check_finite(embed(one_column, o).y, 100, 2);

    // A perplexity beyond every integer: a message, not an undefined conversion.
    o.affinities.perplexity = 1e300;
    CHECK(contains(message_of([&] { embed(x, o); }),
                   "perplexity 1e+300 must be below N - 1 = 99 for 100 points"));
    CHECK(neighbor_count(1e300, 100) == 99);
    CHECK(neighbor_count(10, 100) == 30);
    CHECK(estimate_memory(100, 4, o).neighbors == doctest::Approx(100.0 * 99 * 12));
}

// --- memory -----------------------------------------------------------------------------------------

TEST_CASE("memory estimate: the documented formulas, 64-bit safe, and the peak") {
    Options o;  // perplexity 30: k = 90
    const index_t n = 1'000'000, d = 50;
    const MemoryEstimate m = estimate_memory(n, d, o);
    const double nd = 1e6;
    CHECK(m.input == doctest::Approx(nd * 50 * 8));
    CHECK(m.pca == 0);
    // auto picks nndescent at this size, which calibrates each row as it settles it: its graph ends as
    // indices and float conditionals, 8 bytes an entry
    CHECK(m.neighbors == doctest::Approx(nd * 90 * 8));
    // float values, 32-bit columns (P is not packed: packed.hpp); nndescent's graph is less mutual
    CHECK(m.affinities == doctest::Approx(1.75 * nd * 90 * 8 + (nd + 1) * 8));
    Options exact = o;
    exact.neighbors.backend = KnnBackend::brute;
    CHECK(estimate_memory(n, d, exact).neighbors == doctest::Approx(nd * 90 * 12));
    CHECK(estimate_memory(n, d, exact).affinities == doctest::Approx(1.5 * nd * 90 * 8 + (nd + 1) * 8));
    CHECK(m.session == doctest::Approx(5 * nd * 2 * 8));  // Y, gains, velocity, gradient, attraction
    CHECK(m.dense == 0);
    CHECK(m.tree > nd * (8 + 8 + 4 + 16));
    REQUIRE(m.stages.size() == 4);  // neighbours, affinities (calibration, assembly), optimise
    // The assembly holds the graph's indices, the conditionals, the counters and the one-sided entries
    // (0.75 N k of them from nndescent's graph), never the graph beside the whole of P.
    const MemoryStage& assembly = m.stages[2];
    CHECK(assembly.name == "affinities");
    const double blocks = static_cast<double>(symmetrize_blocks(n, o.threads));
    CHECK(assembly.bytes == doctest::Approx(m.input + nd * 90 * 4 + nd * 90 * 4 + nd * 4 * blocks +
                                            0.75 * nd * 90 * 8 + (nd + 1) * 8));
    for (const auto& part : assembly.parts) CHECK(part.first != "P");
    CHECK(assembly.bytes < m.stages[3].bytes);
    double largest = 0;
    for (const MemoryStage& s : m.stages) {
        double sum = 0;
        for (const auto& part : s.parts) sum += part.second;
        CHECK(sum == doctest::Approx(s.bytes));
        largest = std::max(largest, s.bytes);
    }
    CHECK(m.peak == largest);
    CHECK(m.peak == m.stages[3].bytes);
    CHECK(m.peak > 1.7e9);
    CHECK(m.peak < 2e9);
    CHECK(contains(m.describe(), ": input 381 MiB, "));
    // embed(Matrix&&) frees the input before P: the stages after the neighbours no longer hold it
    const MemoryEstimate owned = estimate_memory(n, d, o, false, true);
    REQUIRE(owned.stages.size() == 4);
    // and nndescent reads the rows it was handed instead of a float copy of them
    CHECK(owned.stages[0].bytes == doctest::Approx(m.stages[0].bytes - nd * 50 * 4));
    for (std::size_t i = 1; i < 4; ++i)
        CHECK(owned.stages[i].bytes == doctest::Approx(m.stages[i].bytes - m.input));
    CHECK(owned.peak < m.peak);

    // keep_affinities adds a copy of P; PCA adds its copy and covariance blocks
    CHECK(estimate_memory(n, d, o, true).affinities == doctest::Approx(2 * m.affinities));
    o.pca_dims = 20;
    const MemoryEstimate reduced = estimate_memory(n, 784, o);
    CHECK(reduced.pca == doctest::Approx(nd * 20 * 8 + std::ceil(nd / 2048) * 784.0 * 784 * 8));
    CHECK(reduced.stages.front().name == "pca");

    // The exact methods: 3 N^2 doubles, no overflow at the largest N
    o = Options();
    o.optimizer.method = Method::exact_tsne;
    CHECK(estimate_memory(100'000, 10, o).dense == doctest::Approx(3e10 * 8));
    const index_t largest_n = std::numeric_limits<point_t>::max();
    const MemoryEstimate huge = estimate_memory(largest_n, 1000, o);
    CHECK(huge.peak > 3.0 * 4.2e9 * 4.2e9 * 8);
    CHECK(std::isfinite(huge.peak));
    o = Options();
    const MemoryEstimate many = estimate_memory(largest_n, 1000, o);
    CHECK(many.input == doctest::Approx(static_cast<double>(largest_n) * 8000));  // N*D past 2^32
    CHECK(many.neighbors == doctest::Approx(static_cast<double>(largest_n) * 90 * 8));

    CHECK(format_bytes(512) == "512 B");
    CHECK(format_bytes(1536) == "1.5 KiB");
    CHECK(format_bytes(31.2 * 1073741824.0) == "31.2 GiB");
    const auto available = available_memory();
    REQUIRE(available.has_value());  // Linux: /proc/meminfo
    CHECK(*available > 0);
}

TEST_CASE("embed refuses a run that needs more memory than is available, before the big allocations") {
    const Matrix x = clustered(4, 50, 5, 14);
    Options o = small_options(50);
    Callbacks cb;
    bool neighbours_started = false;
    cb.stage_start = [&](const std::string&) { neighbours_started = true; };
    cb.memory_limit_bytes = 64 * 1024;  // 64 KiB: far too little
    std::string message;
    try {
        embed(x, o, cb);
    } catch (const NumericalError& e) {
        message = e.what();
    }
    CAPTURE(message);
    CHECK_FALSE(neighbours_started);
    CHECK(contains(message, "needs about"));
    CHECK((contains(message, "kNN ") || contains(message, "P ")));  // the largest buffers are named
    CHECK(contains(message, "but 64.0 KiB is available"));
    CHECK(contains(message, "smaller perplexity"));

    o.optimizer.method = Method::exact_tsne;
    message = message_of([&] { embed(x, o, cb); });
    CHECK(contains(message, "dense P"));
    CHECK(contains(message, "method barnes_hut"));

    // Enough memory, or the check turned off: it runs.
    o = small_options(50);
    cb.memory_limit_bytes = estimate_memory(x.rows(), x.cols(), o).peak;
    check_finite(embed(x, o, cb).y, x.rows(), 2);
    cb.memory_limit_bytes = std::numeric_limits<double>::infinity();
    check_finite(embed(x, o, cb).y, x.rows(), 2);
}

// --- checkpoints ------------------------------------------------------------------------------------

TEST_CASE("checkpoint files: round trip, and every corruption is refused with the file's name") {
    OptimizerState s;
    s.y = random_matrix(37, 3, 15);
    s.gains = Matrix(37, 3, 1.25);
    s.velocity = random_matrix(37, 3, 16, 1e-3);
    s.iteration = 321;
    CheckpointInfo info;
    info.data_fingerprint = 0x1234567890abcdefull;
    info.settings = trajectory_settings(Options(), 37, 3);
    const TempDir dir;
    const std::string path = dir / "state.ckpt";
    save_checkpoint(path, s, info);

    CheckpointInfo read_info;
    const OptimizerState r = load_checkpoint(path, &read_info);
    CHECK(r.y == s.y);
    CHECK(r.gains == s.gains);
    CHECK(r.velocity == s.velocity);
    CHECK(r.iteration == 321);
    CHECK(read_info.data_fingerprint == info.data_fingerprint);
    CHECK(read_info.settings == info.settings);
    CHECK(std::isnan(r.theta));  // no auto controller
    s.theta = 0.35;
    save_checkpoint(path, s, info);
    CHECK(load_checkpoint(path).theta == 0.35);

    const std::string good = slurp(path);
    const std::string bad = dir / "bad.ckpt";
    auto refused = [&](const std::string& bytes, const std::string& why) {
        spit(bad, bytes);
        std::string message;
        try {
            load_checkpoint(bad);
        } catch (const IoError& e) {
            message = e.what();
        }
        CAPTURE(message);
        CHECK(contains(message, bad));
        CHECK(contains(message, why));
    };
    refused("", "not a treesne checkpoint");
    refused("hello, world, this is a text file", "not a treesne checkpoint");
    std::string other = good;
    other[8] = 4;  // version
    refused(other, "version 4");
    other[8] = 0;
    refused(other, "version 0");
    refused(good.substr(0, 14), "truncated");
    for (std::size_t cut : {std::size_t{4}, std::size_t{100}, good.size() - 40})
        refused(good.substr(0, good.size() - cut), "checksum");
    for (std::size_t at : {std::size_t{17}, std::size_t{100}, good.size() / 2, good.size() - 9}) {
        other = good;
        other[at] = static_cast<char>(other[at] ^ 0x10);
        refused(other, "checksum");
    }
    CHECK_THROWS_AS(load_checkpoint(path + ".missing"), IoError);

    // The settings and fingerprint checks name what differs.
    CheckpointInfo now = info;
    CHECK_NOTHROW(check_resumable(info, now, "f.ckpt"));
    Options changed;
    changed.optimizer.theta = 0.3;
    now.settings = trajectory_settings(changed, 37, 3);
    std::string message = message_of([&] { check_resumable(info, now, "f.ckpt"); });
    CHECK(contains(message, "f.ckpt was made with theta 0.5; this run uses theta 0.3"));
    changed = Options();
    changed.optimizer.iterations = 5000;  // the budget and the threads may change
    changed.threads = 3;
    now.settings = trajectory_settings(changed, 37, 3);
    CHECK_NOTHROW(check_resumable(info, now, "f.ckpt"));
    now.data_fingerprint = 7;
    CHECK(contains(message_of([&] { check_resumable(info, now, "f.ckpt"); }), "different input data"));
    const Matrix a = random_matrix(10, 2, 1);
    Matrix b = a;
    b(9, 1) = std::nextafter(b(9, 1), 1e9);
    CHECK(data_fingerprint(a) != data_fingerprint(b));
    CHECK(data_fingerprint(a) == data_fingerprint(Matrix(a)));
}

TEST_CASE("embed in checkpointed segments equals one run, and resuming a checkpoint continues bit for bit") {
    const Matrix x = clustered(4, 60, 6, 17);
    for (Method method : {Method::barnes_hut, Method::exact_tsne}) {
        CAPTURE(std::string(to_string(method)));
        Options o = small_options(1000);
        o.optimizer.method = method;
        o.optimizer.exaggeration_iterations = 250;
        o.report_every = 50;
        std::vector<IterationReport> straight_reports;
        const Result straight = embed(x, o, [&](const IterationReport& r) {
            straight_reports.push_back(r);
            return true;
        });

        // Checkpoints every 300: at 300, 600, 900 and the end.
        std::vector<OptimizerState> saved;
        const Result segmented = embed(x, o, saving_checkpoints(saved, 300));
        CHECK(segmented.y == straight.y);
        CHECK(segmented.kl == straight.kl);
        REQUIRE(saved.size() == 4);
        CHECK(saved[0].iteration == 300);
        CHECK(saved[2].iteration == 900);
        CHECK(saved[3].iteration == 1000);
        CHECK(saved[3].y == straight.y);

        // Segments that do not end on a report (every 275): the observer sees what a straight run shows.
        std::vector<IterationReport> reports;
        Callbacks cb;
        cb.observer = [&](const IterationReport& r) {
            reports.push_back(r);
            return true;
        };
        cb.checkpoint = [](const OptimizerState&) {};
        cb.checkpoint_every = 275;
        CHECK(embed(x, o, cb).y == straight.y);
        REQUIRE(reports.size() == straight_reports.size());
        for (std::size_t i = 0; i < reports.size(); ++i) {
            CHECK(reports[i].iteration == straight_reports[i].iteration);
            CHECK(reports[i].total == 1000);
            CHECK(reports[i].kl == straight_reports[i].kl);
        }

        // Resume from 300 (through a file) to 1000, on another thread count: the same embedding.
        const TempDir dir;
        save_checkpoint(dir / "resume.ckpt", saved[0]);
        const OptimizerState loaded = load_checkpoint(dir / "resume.ckpt");
        Callbacks resume;
        resume.resume_from = &loaded;
        bool initialised = false;
        resume.stage_start = [&](const std::string& stage) { initialised = initialised || stage == "init"; };
        Options other_threads = o;
        other_threads.threads = 2;
        const Result resumed = embed(x, other_threads, resume);
        CHECK_FALSE(initialised);
        CHECK(resumed.iterations == 1000);
        CHECK(resumed.y == straight.y);

        // A resumed run that checkpoints again continues the same sequence.
        std::vector<index_t> at;
        resume.checkpoint = [&](const OptimizerState& s) { at.push_back(s.iteration); };
        resume.checkpoint_every = 250;
        CHECK(embed(x, o, resume).y == straight.y);
        CHECK(at == std::vector<index_t>{500, 750, 1000});
    }
}

TEST_CASE("resume refuses a state of the wrong shape; cancellation skips the checkpoint") {
    const Matrix x = clustered(4, 50, 5, 18);
    Options o = small_options(100);
    OptimizerState s;
    s.y = random_matrix(199, 2, 1);
    s.gains = Matrix(199, 2, 1.0);
    s.velocity = Matrix(199, 2, 0.0);
    Callbacks cb;
    cb.resume_from = &s;
    std::string message = message_of([&] { embed(x, o, cb); });
    CHECK(contains(message,
                   "cannot resume: the saved state embeds 199 points in 2 dimensions, this run 200 "
                   "points in 2"));
    s.y = random_matrix(200, 3, 1);
    CHECK(contains(message_of([&] { embed(x, o, cb); }), "200 points in 3 dimensions"));
    s.y = random_matrix(200, 2, 1);
    s.gains = Matrix(200, 3, 1.0);
    CHECK(contains(message_of([&] { embed(x, o, cb); }), "malformed"));

    Callbacks c2;
    std::atomic<bool> cancel{true};
    c2.cancel = &cancel;
    int calls = 0;
    c2.checkpoint = [&](const OptimizerState&) { ++calls; };
    c2.checkpoint_every = 1;
    const Result r = embed(x, o, c2);
    CHECK(r.status == RunStatus::cancelled);
    CHECK(calls == 0);
    c2.checkpoint_every = 0;
    CHECK_THROWS_AS(embed(x, o, c2), InvalidArgument);
}

// --- reproducibility --------------------------------------------------------------------------------

TEST_CASE("same seed, same embedding: 1, 2 and 4 threads and every kNN backend, also with ties") {
    std::vector<Matrix> inputs;
    inputs.push_back(clustered(5, 100, 3, 19));  // low D: the kd-tree's home ground
    Matrix ties(400, 2);
    std::mt19937_64 rng(20);
    for (double& v : ties.storage()) v = static_cast<double>(rng() % 6);  // 36 cells, ~11 points each
    inputs.push_back(ties);
    for (const Matrix& x : inputs) {
        // Few iterations: any thread dependence shows in the last bits at once, and more threads than
        // cores make every OpenMP barrier slow on a busy machine.
        Options o = small_options(60);
        o.optimizer.exaggeration_iterations = 30;
        Matrix first, approximate;
        for (KnnBackend backend : {KnnBackend::kdtree, KnnBackend::brute, KnnBackend::hnsw}) {
            for (int threads : {1, 2, 4}) {
                CAPTURE(std::string(to_string(backend)));
                CAPTURE(threads);
                o.neighbors.backend = backend;
                o.threads = threads;
                const Result r = embed(x, o);
                // The exact backends share one graph; hnsw's own graph must not depend on the threads.
                Matrix& reference = backend == KnnBackend::hnsw ? approximate : first;
                if (reference.empty()) {
                    reference = r.y;
                    check_finite(reference, x.rows(), 2);
                } else {
                    CHECK(r.y == reference);
                }
            }
        }
    }
}

// --- user initialisation ------------------------------------------------------------------------------

TEST_CASE("user init: coincident points and constant columns are refused, any finite magnitude is rescaled") {
    // 4ae5c90 wrote a collapsed embedding with success for an init of all zeros, of a constant column, or
    // of values near 1e-300 (whose variance underflowed, so they were left unscaled), and reported a
    // divergence for values near 1e200 (whose variance overflowed).
    const Matrix x = clustered(3, 40, 5, 31);
    Options o = small_options(150);
    o.init = InitKind::user;
    const Matrix y0 = random_matrix(x.rows(), 2, 32);
    o.init_coordinates = y0;
    const Matrix reference = embed(x, o).y;

    auto refusal = [&](const Matrix& init, bool keep_scale) {
        Options bad = o;
        bad.init_coordinates = init;
        bad.keep_user_scale = keep_scale;
        std::string message;
        try {
            embed(x, bad);
        } catch (const InvalidArgument& e) {
            message = e.what();
        }
        CHECK(init_defect(init, keep_scale) != "");
        return message;
    };
    CHECK(contains(refusal(Matrix(x.rows(), 2, 0.0), false),
                   "initial coordinates: all 120 points are at the same position"));
    Matrix column = y0;
    for (index_t i = 0; i < column.rows(); ++i) column(i, 1) = 3.0;
    CHECK(contains(refusal(column, false), "column 2 is constant (every point at 3)"));
    CHECK(contains(refusal(column, true), "column 2 is constant"));
    Matrix not_finite = y0;
    not_finite(5, 0) = std::numeric_limits<double>::quiet_NaN();
    CHECK(contains(refusal(not_finite, false), "row 6, column 1 is not a finite number"));

    // Rescaling by a power of two is exact, so any magnitude gives the reference run bit for bit.
    for (const int exponent : {-1000, -600, 600, 1000}) {
        CAPTURE(exponent);
        Matrix scaled = y0;
        for (double& v : scaled.storage()) v = std::ldexp(v, exponent);
        CHECK(init_defect(scaled, false) == "");
        o.init_coordinates = scaled;
        CHECK(embed(x, o).y == reference);
        // Kept as given, their squared distances would overflow or underflow: refused, with the reason.
        CHECK(contains(refusal(scaled, true), exponent > 0 ? "too large to keep" : "too small to keep"));
    }
    Matrix flat = y0;  // column 2 a 2^-1100th of column 1: rescaled, it would fall below 2^-1022
    for (index_t i = 0; i < flat.rows(); ++i) flat(i, 1) = std::ldexp(flat(i, 1), -1060);
    CHECK(contains(refusal(flat, false), "column 2 varies"));
}

TEST_CASE("pca init: a principal component without variance starts from random values, not a line") {
    // 4ae5c90: data with a constant column gave a PCA start whose second column was exactly 0, and the
    // gradient along a constant column is 0: the embedding came out on a line.
    Matrix x = clustered(3, 40, 2, 33);
    for (index_t i = 0; i < x.rows(); ++i) x(i, 1) = 5.0;
    Options o = small_options(150);
    const Matrix y0 = initial_embedding(x, o);
    CHECK(init_defect(y0, true) == "");
    const Matrix y = embed(x, o).y;
    double lo = y(0, 1), hi = y(0, 1);
    for (index_t i = 0; i < y.rows(); ++i) lo = std::min(lo, y(i, 1)), hi = std::max(hi, y(i, 1));
    CHECK(hi - lo > 1.0);
    // Data that varies in every direction keeps its PCA start exactly (the default path's bits).
    const Matrix full = clustered(3, 40, 4, 34);
    const Matrix start = initial_embedding(full, o);
    Matrix expected = pca(full, 2, 1).projected;
    rescale(expected, 1e-4);
    CHECK(start == expected);
}

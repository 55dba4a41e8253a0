// The kNN kernels compiled per instruction set, every copy this build and CPU have:
// - the brute-force search's float pass (src/knn/estimates.hpp) against estimates computed in double:
//   what each query keeps, what it rejects, and its threshold; the search's exactness rests on these
//   properties (src/knn/brute.cpp);
// - nndescent's working distances (src/knn/working_distances.hpp) against a scalar loop, bit for bit.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../src/knn/estimates.hpp"
#include "../src/knn/working_distances.hpp"

namespace {

using treesne::index_t;
using treesne::detail::EstimateCandidate;
using treesne::detail::EstimateScan;
using treesne::detail::SimdTarget;

using WorkingDistances = void (*)(treesne::Metric, const double*, const double*, index_t, index_t, index_t,
                                  index_t, double*);

struct Copy {
    SimdTarget target;
    void (*scan)(const EstimateScan&);
    WorkingDistances working;
};

// The copies compiled into this build that this CPU runs.
std::vector<Copy> runnable_copies() {
    namespace d = treesne::detail;
    std::vector<Copy> copies{{SimdTarget::baseline, &d::simd_baseline::scan_estimates, &d::simd_baseline::working_distances}};
    if constexpr (d::simd_dispatching) {
        if (d::simd_cpu_has(SimdTarget::avx2))
            copies.push_back({SimdTarget::avx2, &d::simd_avx2::scan_estimates, &d::simd_avx2::working_distances});
        if (d::simd_cpu_has(SimdTarget::avx512))
            copies.push_back({SimdTarget::avx512, &d::simd_avx512::scan_estimates, &d::simd_avx512::working_distances});
    }
    return copies;
}

// Coordinates in (-1, 1), as the search's frame makes them; the references' norms as brute.cpp stores
// them (padded with +inf).
struct Data {
    index_t n, m, d;
    std::vector<float> refs, queries, norms, panels;
};

Data make_data(index_t n, index_t m, index_t d, unsigned seed, bool duplicates) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-0.9f, 0.9f);
    Data x{n, m, d, std::vector<float>(static_cast<std::size_t>(n * d)), std::vector<float>(static_cast<std::size_t>(m * d)), {}, {}};
    for (float& v : x.refs) v = u(rng);
    for (float& v : x.queries) v = u(rng);
    if (duplicates)  // every reference twice, and queries equal to references: ties everywhere
        for (index_t i = 0; i < n; ++i) {
            std::copy_n(x.refs.begin() + (i / 2) * d, d, x.refs.begin() + i * d);
            if (i < m) std::copy_n(x.refs.begin() + i * d, d, x.queries.begin() + i * d);
        }
    const index_t w = treesne::detail::estimate_panel_width;
    x.norms.assign(static_cast<std::size_t>((n + w - 1) / w * w), std::numeric_limits<float>::infinity());
    for (index_t i = 0; i < n; ++i) {
        double s = 0;
        for (index_t j = 0; j < d; ++j) s += static_cast<double>(x.refs[i * d + j]) * x.refs[i * d + j];
        x.norms[static_cast<std::size_t>(i)] = static_cast<float>(s);
    }
    x.panels = treesne::detail::estimate_panels(x.refs.data(), n, d, 2);
    return x;
}

// The estimate in double: what the float pass approximates.
double estimate(const Data& x, index_t q, index_t r) {
    double dot = 0;
    for (index_t j = 0; j < x.d; ++j) dot += static_cast<double>(x.queries[q * x.d + j]) * x.refs[r * x.d + j];
    return static_cast<double>(x.norms[static_cast<std::size_t>(r)]) - 2 * dot;
}

// A bound on the float estimate's error, brute.cpp's E(q) for the pair: 4 (D + 2) 2^-24 (|q|^2 + |r|^2).
double tolerance(const Data& x, index_t q, index_t r) {
    double qq = 0;
    for (index_t j = 0; j < x.d; ++j) qq += static_cast<double>(x.queries[q * x.d + j]) * x.queries[q * x.d + j];
    return 4.0 * static_cast<double>(x.d + 2) * 0x1p-24 * (qq + static_cast<double>(x.norms[static_cast<std::size_t>(r)]));
}

// Scans the references in blocks of `block` (as the search visits them), then checks every query.
void check_copy(const Copy& copy, const Data& x, index_t keep, index_t block) {
    CAPTURE(treesne::detail::simd_target_name(copy.target));
    CAPTURE(x.n);
    CAPTURE(x.d);
    CAPTURE(keep);
    const index_t stride = 2 * keep + treesne::detail::estimate_panel_width;
    std::vector<EstimateCandidate> buffers(static_cast<std::size_t>(x.m * stride));
    std::vector<index_t> counts(static_cast<std::size_t>(x.m), 0), own(static_cast<std::size_t>(x.m));
    std::vector<float> thresholds(static_cast<std::size_t>(x.m), std::numeric_limits<float>::infinity());
    for (index_t i = 0; i < x.m; ++i) own[static_cast<std::size_t>(i)] = i % 3 == 0 ? i : -1;  // some skip themselves
    for (index_t r0 = 0; r0 < x.n; r0 += block) {
        const EstimateScan scan{x.queries.data(), own.data(), x.m, x.d, x.panels.data(), x.norms.data(), r0,
                                std::min(x.n, r0 + block), buffers.data(), stride, keep, counts.data(), thresholds.data()};
        copy.scan(scan);
    }
    int failures = 0;
    for (index_t q = 0; q < x.m && failures < 5; ++q) {
        const auto s = static_cast<std::size_t>(q);
        const index_t count = counts[s];
        const double threshold = thresholds[s];
        const index_t eligible = x.n - (own[s] >= 0 ? 1 : 0);
        std::set<index_t> kept;
        bool ok = count <= 2 * keep - 1 && count >= std::min(keep, eligible);
        for (index_t j = 0; j < count; ++j) {
            const EstimateCandidate& c = buffers[static_cast<std::size_t>(q * stride + j)];
            const auto r = static_cast<index_t>(c.position);
            ok = ok && r >= 0 && r < x.n && r != own[s] && kept.insert(r).second;  // real, not itself, once
            ok = ok && std::abs(static_cast<double>(c.estimate) - estimate(x, q, r)) <= tolerance(x, q, r);
            ok = ok && static_cast<double>(c.estimate) <= threshold;
        }
        // Every reference left out (itself excepted) is at the threshold or above it.
        for (index_t r = 0; r < x.n; ++r)
            if (r != own[s] && kept.count(r) == 0) ok = ok && estimate(x, q, r) >= threshold - tolerance(x, q, r);
        if (!ok) {
            ++failures;
            FAIL_CHECK("query " << q << ": count " << count << ", threshold " << threshold);
        }
    }
    CHECK(failures == 0);
}

}  // namespace

TEST_CASE("knn estimates: every copy keeps what it must and rejects only what is past its threshold") {
    const std::vector<Copy> copies = runnable_copies();
    CHECK(copies.size() >= 1);
    MESSAGE("copies run: " << copies.size());
    struct Shape {
        index_t n, m, d, keep, block;
        bool duplicates;
    };
    // Panels padded at the end (n not a multiple of 16), one or several blocks, tiles of every width
    // (m below, at and past each copy's tile of queries), dimensions 1 to 70, k larger than N.
    for (const Shape& shape : {Shape{37, 5, 3, 4, 512, false}, Shape{300, 31, 17, 10, 64, false},
                               Shape{1000, 25, 50, 30, 512, false}, Shape{513, 13, 1, 20, 128, true},
                               Shape{200, 12, 70, 120, 64, true}, Shape{20, 7, 9, 40, 512, false}}) {
        const Data x = make_data(shape.n, shape.m, shape.d, static_cast<unsigned>(shape.n + shape.d), shape.duplicates);
        for (const Copy& copy : copies) check_copy(copy, x, shape.keep, shape.block);
    }
}

TEST_CASE("knn estimates: the panels are the rows transposed, padded with zeros") {
    const index_t w = treesne::detail::estimate_panel_width;
    const index_t n = w + 3, d = 5;
    std::vector<float> rows(static_cast<std::size_t>(n * d));
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<float>(i) + 1;
    const std::vector<float> panels = treesne::detail::estimate_panels(rows.data(), n, d, 2);
    REQUIRE(panels.size() == static_cast<std::size_t>(2 * w * d));
    for (index_t p = 0; p < 2 * w; ++p)
        for (index_t j = 0; j < d; ++j) {
            const float expected = p < n ? rows[static_cast<std::size_t>(p * d + j)] : 0.0f;
            CHECK(panels[static_cast<std::size_t>((p / w) * w * d + j * w + p % w)] == expected);
        }
}

TEST_CASE("knn working distances: every copy gives the scalar loop's bits, for each metric") {
    using treesne::Metric;
    const std::vector<Copy> copies = runnable_copies();
    constexpr index_t lanes = 8;  // kLanes: a lane group
    std::mt19937 rng(11);
    std::normal_distribution<double> normal(0.0, 3.0);
    for (const index_t d : {index_t{1}, index_t{7}, index_t{50}}) {
        const index_t groups = 3, stride = groups * lanes + lanes;  // a stride wider than the columns used
        std::vector<double> panel(static_cast<std::size_t>(d * stride)), a(static_cast<std::size_t>(d));
        for (double& v : panel) v = normal(rng);
        for (double& v : a) v = normal(rng);
        panel[0] = -0.0;  // signed zeros and an equal coordinate
        a[0] = 0.0;
        panel[1] = a[0];
        for (const Metric metric : {Metric::euclidean, Metric::manhattan, Metric::chebyshev}) {
            std::vector<double> expected(static_cast<std::size_t>(groups * lanes));
            for (index_t c = 0; c < groups * lanes; ++c) {
                double acc = 0;
                for (index_t j = 0; j < d; ++j) {
                    const double diff = a[static_cast<std::size_t>(j)] - panel[static_cast<std::size_t>(j * stride + c)];
                    if (metric == Metric::euclidean)
                        acc += diff * diff;  // no fused multiply-add: the tests are compiled as the copies
                    else if (metric == Metric::manhattan)
                        acc += std::abs(diff);
                    else
                        acc = acc < std::abs(diff) ? std::abs(diff) : acc;
                }
                expected[static_cast<std::size_t>(c)] = acc;
            }
            for (const Copy& copy : copies) {
                CAPTURE(treesne::detail::simd_target_name(copy.target));
                CAPTURE(static_cast<int>(metric));
                CAPTURE(d);
                std::vector<double> out(static_cast<std::size_t>(groups * lanes), -1.0);
                copy.working(metric, a.data(), panel.data(), stride, d, 1, groups, out.data());  // groups 1 and 2
                for (index_t c = 0; c < lanes; ++c) CHECK(out[static_cast<std::size_t>(c)] == -1.0);  // group 0 untouched
                for (index_t c = lanes; c < groups * lanes; ++c) CHECK(out[static_cast<std::size_t>(c)] == expected[static_cast<std::size_t>(c)]);
            }
        }
    }
}

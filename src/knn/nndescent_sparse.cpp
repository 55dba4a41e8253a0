// The nndescent backend on sparse rows (CSR), never densified: the steps of nndescent.cpp with sparse
// arithmetic. 1. A forest of random-projection trees: each node splits its points by the perpendicular
// bisector of two of them drawn by hash, the side of a point from two sparse dot products. 2. The first
// graph: every leaf's points offered to each other. 3. The refinement rounds of nndescent_refine.cpp,
// whose joins compare pairs by SparsePanel's working distance. 4. Every row's distances recomputed by
// sparse_rank_distance() (the exact search's, so bit-equal to rank_distance() of the dense rows) and
// sorted by (distance, tie key). Everything is a pure function of the data and the parameters: the
// same graph for every thread count.
//
// Memory beyond the input and the output (N k 12): the working distances and flags (N k (4 + 1/4)),
// reverse lists (N (4 reverse_cap + 4)), locks and worst distances (5 N), norms (8 N), a tree (4 N) per
// tree while the first graph is built, and two dense arrays of D doubles per thread.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "knn/internal.hpp"
#include "knn/nndescent_internal.hpp"
#include "knn/sparse_internal.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne::detail {
namespace nndescent {

void SparsePanel::scatter(const SparsePoints& x, index_t a) {
    if (static_cast<index_t>(dense_.size()) < x.x.cols) dense_.assign(static_cast<std::size_t>(x.x.cols), 0.0);
    for (index_t e = x.x.row_begin(a); e < x.x.row_end(a); ++e) dense_[x.x.columns[e]] = x.x.values[e];
}

void SparsePanel::clear(const SparsePoints& x, index_t a) {
    for (index_t e = x.x.row_begin(a); e < x.x.row_end(a); ++e) dense_[x.x.columns[e]] = 0.0;
}

double SparsePanel::distance(const SparsePoints& x, index_t a, index_t b) const {
    const ConstCsrView& m = x.x;
    if (counts_coordinates(x.metric)) {
        index_t shared = 0, equal = 0;
        for (index_t e = m.row_begin(b); e < m.row_end(b); ++e) {
            const double v = dense_[m.columns[e]];
            shared += v != 0.0 ? 1 : 0;
            equal += v == m.values[e] ? 1 : 0;  // a zero never equals a stored (non-zero) value
        }
        const index_t either = m.row_size(a) + m.row_size(b) - shared, differ = either - equal;
        return x.metric == Metric::jaccard ? jaccard_ratio(differ, either) : hamming_ratio(differ, m.cols);
    }
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    for (index_t e = m.row_begin(b); e < m.row_end(b); ++e) {
        const point_t j = m.columns[e];
        acc[j & 3] += dense_[j] * m.values[e];
    }
    const double dot = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    const double d = (x.norms[static_cast<std::size_t>(a)] + x.norms[static_cast<std::size_t>(b)]) - 2.0 * dot;
    return x.scale * std::max(0.0, d);
}

void SparsePanel::gather(const SparsePoints& x, const point_t* points, index_t count) {
    (void)x;
    (void)points;
    count_ = count;
    out_.resize(static_cast<std::size_t>(count));
}

const double* SparsePanel::distances_of(const SparsePoints& x, const point_t* list, index_t a, index_t from) {
    scatter(x, list[a]);
    for (index_t b = from; b < count_; ++b) out_[static_cast<std::size_t>(b)] = distance(x, list[a], list[b]);
    clear(x, list[a]);
    return out_.data();
}

}  // namespace nndescent

namespace {

using namespace nndescent;

// --- 1. the forest ----------------------------------------------------------------------------------

// One tree over all points: nodes split by the bisector of two drawn points until at most leaf_size
// remain (a split that leaves one side empty, as duplicates do, halves the node in its order instead).
Tree sparse_tree(const SparsePoints& x, index_t leaf_size, std::uint64_t tree_seed) {
    Tree tree;
    tree.order.resize(static_cast<std::size_t>(x.rows));
    std::iota(tree.order.begin(), tree.order.end(), point_t{0});
    SparsePanel a_side, b_side;
    std::vector<std::pair<index_t, index_t>> stack{{0, x.rows}};
    std::vector<std::pair<index_t, index_t>> leaves;
    std::uint64_t node = 0;
    while (!stack.empty()) {
        const auto [first, last] = stack.back();
        stack.pop_back();
        const index_t size = last - first;
        if (size <= leaf_size) {
            leaves.push_back({first, last});
            continue;
        }
        ++node;
        point_t* begin = tree.order.data() + first;
        const point_t a = begin[draw(tree_seed, 2 * node) % static_cast<std::uint64_t>(size)];
        point_t b = begin[draw(tree_seed, 2 * node + 1) % static_cast<std::uint64_t>(size)];
        if (b == a) b = begin[(static_cast<index_t>(draw(tree_seed, 2 * node + 1) % static_cast<std::uint64_t>(size)) + 1) % size];
        // Side of p: <p, a - b> - (|a|^2 - |b|^2) / 2, from the two dot products.
        a_side.scatter(x, a);
        b_side.scatter(x, b);
        const double offset = 0.5 * (x.norms[a] - x.norms[b]);
        auto side = [&](point_t p) {
            double s = -offset;
            for (index_t e = x.x.row_begin(p); e < x.x.row_end(p); ++e)
                s += x.x.values[e] * (a_side.value(x.x.columns[e]) - b_side.value(x.x.columns[e]));
            return s <= 0.0;
        };
        point_t* middle = std::stable_partition(begin, begin + size, side);
        a_side.clear(x, a);
        b_side.clear(x, b);
        index_t cut = middle - begin;
        if (cut == 0 || cut == size) cut = size / 2;
        stack.push_back({first + cut, last});
        stack.push_back({first, first + cut});
    }
    std::sort(leaves.begin(), leaves.end());
    for (const auto& leaf : leaves) tree.leaf_begin.push_back(leaf.first);
    tree.leaf_begin.push_back(x.rows);
    return tree;
}

// --- 2. the first graph -----------------------------------------------------------------------------

// Every point of each leaf of `tree` offered its leaf-mates (leaves are disjoint: each task owns its
// points' rows).
void merge_sparse_tree(const SparsePoints& x, const Tree& tree, int threads, Rows& rows) {
    const auto leaves = static_cast<index_t>(tree.leaf_begin.size()) - 1;
    parallel_for(leaves, threads, [&](index_t l0, index_t l1) {
        SparsePanel panel;
        std::vector<Offer> offers;
        MergeScratch scratch;
        for (index_t l = l0; l < l1; ++l) {
            const point_t* points = tree.order.data() + tree.leaf_begin[static_cast<std::size_t>(l)];
            const index_t count = tree.leaf_begin[static_cast<std::size_t>(l + 1)] - tree.leaf_begin[static_cast<std::size_t>(l)];
            panel.gather(x, points, count);
            for (index_t a = 0; a < count; ++a) {
                const double* d = panel.distances_of(x, points, a, 0);
                offers.clear();
                for (index_t b = 0; b < count; ++b)
                    if (b != a) offers.push_back({static_cast<float>(d[b]), points[b]});
                rows.merge(points[a], offers, scratch);
            }
        }
    });
}

// --- 4. exact distances -----------------------------------------------------------------------------

// Replaces every row's working distances by sparse_rank_distance() and sorts it by (distance, tie key);
// a row that never filled up is answered by an exact scan of all rows. Returns the number of such rows.
index_t finish_sparse(ConstCsrView x, Metric metric, int threads, NeighborGraph& graph) {
    const index_t k = graph.k;
    std::atomic<index_t> exact_rows{0};
    parallel_for(x.rows, threads, [&](index_t begin, index_t end) {
        std::vector<Neighbor> row;
        std::vector<double> scratch;
        index_t exact = 0;
        for (index_t i = begin; i < end; ++i) {
            const point_t* indices = graph.indices.data() + i * k;
            if (indices[k - 1] == no_point) {
                sparse_exact_row(x, i, k, metric, scratch, row, graph);
                ++exact;
                continue;
            }
            row.clear();
            for (index_t p = 0; p < k; ++p)
                row.push_back(candidate(i, indices[p], sparse_rank_distance(metric, x, i, x, indices[p], scratch)));
            write_row(row, i, k, graph, metric);
        }
        exact_rows += exact;
    });
    return exact_rows.load();
}

// The working distances' factor: a power of two that brings 4 max |x_i|^2 (the largest squared distance)
// below 2^100, far inside float's range.
double working_scale(const std::vector<double>& norms, Metric metric) {
    if (counts_coordinates(metric)) return 1.0;
    const double largest = 4.0 * *std::max_element(norms.begin(), norms.end());
    if (!(largest > 0x1p100)) return 1.0;
    int e = 0;
    std::frexp(largest, &e);
    return std::ldexp(1.0, 100 - e);
}

}  // namespace

NeighborGraph knn_nndescent_sparse(ConstCsrView x, index_t k, const NndescentParameters& p, int threads,
                                   NndescentReport* report, const SearchProgress& progress) {
    auto report_progress = [&](double fraction) {
        if (progress) progress(fraction);
    };
    NndescentReport local;
    NndescentReport& r = report ? *report : local;
    r = NndescentReport{};
    const index_t n = x.rows;
    auto start = std::chrono::steady_clock::now();
    NeighborGraph graph;
    graph.n = n;
    graph.k = k;
    graph.indices.resize(static_cast<std::size_t>(n * k));
    {
        SparsePoints points;
        points.x = x;
        points.metric = p.metric;
        points.rows = n;
        points.norms.resize(static_cast<std::size_t>(n));
        parallel_for(n, threads, [&](index_t begin, index_t end) {
            for (index_t i = begin; i < end; ++i) {
                double sum = 0.0;
                for (index_t e = x.row_begin(i); e < x.row_end(i); ++e) sum += x.values[e] * x.values[e];
                points.norms[static_cast<std::size_t>(i)] = sum;
            }
        });
        points.scale = working_scale(points.norms, p.metric);
        Rows rows(graph.indices, n, k);
        // 1 and 2: the trees in parallel, then each merged (and freed) in order.
        std::vector<Tree> trees(static_cast<std::size_t>(p.trees));
        parallel_for(p.trees, threads, [&](index_t t0, index_t t1) {
            for (index_t t = t0; t < t1; ++t)
                trees[static_cast<std::size_t>(t)] = sparse_tree(points, p.leaf_size, draw(nndescent_seed, static_cast<std::uint64_t>(t)));
        }, 1);
        r.forest_seconds = seconds_since(start);
        report_progress(0.05);
        start = std::chrono::steady_clock::now();
        for (std::size_t t = 0; t < trees.size(); ++t) {
            merge_sparse_tree(points, trees[t], threads, rows);
            Tree().order.swap(trees[t].order);
            report_progress(0.05 + 0.15 * static_cast<double>(t + 1) / static_cast<double>(trees.size()));
        }
        rows.mark_all_fresh();
        r.init_seconds = seconds_since(start);
        start = std::chrono::steady_clock::now();
        refine(points, rows, p, threads, r, [&](index_t round) {
            report_progress(0.2 + 0.75 * static_cast<double>(round + 1) / static_cast<double>(p.rounds));
        });
        r.refine_seconds = seconds_since(start);
    }
    start = std::chrono::steady_clock::now();
    graph.distances.resize(static_cast<std::size_t>(n * k));
    r.exact_rows = finish_sparse(x, p.metric, threads, graph);
    r.finish_seconds = seconds_since(start);
    report_progress(1.0);
    return graph;
}

}  // namespace treesne::detail

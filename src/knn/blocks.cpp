// The candidate lists of an exact search done in blocks (knn_block_candidates in brute.cpp): stored,
// merged and written as graph rows. Every list is sorted by (rank distance, tie key), a total order for
// one query (the tie keys of distinct points differ), so the k best of a union of disjoint blocks are
// the first k of the merged lists, whatever the order in which the blocks arrive.
#include <algorithm>
#include <vector>

#include "knn/internal.hpp"
#include "treesne/core/errors.hpp"

namespace treesne::detail {

BlockCandidates allocate_candidates(index_t first, index_t rows, index_t k) {
    BlockCandidates c;
    c.first = first;
    c.rows = rows;
    c.k = k;
    c.count.assign(static_cast<std::size_t>(rows), 0);
    c.best.resize(static_cast<std::size_t>(rows * k));
    return c;
}

namespace {

// Puts the min(k, size) best candidates first, sorted by (distance, tie); returns how many.
index_t keep_best(std::vector<Neighbor>& candidates, index_t k) {
    const index_t kept = std::min(k, static_cast<index_t>(candidates.size()));
    const auto end = candidates.begin() + static_cast<std::ptrdiff_t>(kept);
    if (end != candidates.end()) std::nth_element(candidates.begin(), end, candidates.end());
    std::sort(candidates.begin(), end);
    return kept;
}

}  // namespace

void store_row(std::vector<Neighbor>& candidates, index_t row, BlockCandidates& c) {
    const index_t kept = keep_best(candidates, c.k);
    std::copy(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(kept),
              c.best.begin() + static_cast<std::ptrdiff_t>(row * c.k));
    c.count[static_cast<std::size_t>(row)] = kept;
}

CompactCandidates allocate_compact(index_t first, index_t rows, index_t k) {
    CompactCandidates c;
    c.first = first;
    c.rows = rows;
    c.k = k;
    c.count.assign(static_cast<std::size_t>(rows), 0);
    c.distance.resize(static_cast<std::size_t>(rows * k));
    c.index.resize(static_cast<std::size_t>(rows * k));
    return c;
}

void store_row(std::vector<Neighbor>& candidates, index_t row, CompactCandidates& c) {
    const index_t kept = keep_best(candidates, c.k);
    for (index_t j = 0; j < kept; ++j) {
        const auto e = static_cast<std::size_t>(row * c.k + j);
        c.distance[e] = candidates[static_cast<std::size_t>(j)].distance;
        c.index[e] = candidates[static_cast<std::size_t>(j)].index;
    }
    c.count[static_cast<std::size_t>(row)] = kept;
}

namespace {

// Candidate j of row `row` of c as a Neighbor (its tie key recomputed from the two indices).
Neighbor compact_neighbor(const CompactCandidates& c, index_t row, index_t j) {
    const auto e = static_cast<std::size_t>(row) * static_cast<std::size_t>(c.k) + static_cast<std::size_t>(j);
    return candidate(c.first + row, c.index[e], c.distance[e]);
}

}  // namespace

void merge_row(std::vector<Neighbor>& found, index_t row, CompactCandidates& c) {
    for (index_t j = 0; j < c.count[static_cast<std::size_t>(row)]; ++j) found.push_back(compact_neighbor(c, row, j));
    store_row(found, row, c);
}

BlockCandidates expand_candidates(const CompactCandidates& c, index_t q0, index_t rows) {
    BlockCandidates out = allocate_candidates(c.first + q0, rows, c.k);
    for (index_t i = 0; i < rows; ++i) {
        const auto s = static_cast<std::size_t>(q0 + i);
        out.count[static_cast<std::size_t>(i)] = c.count[s];
        for (index_t j = 0; j < c.count[s]; ++j) out.best[static_cast<std::size_t>(i * c.k + j)] = compact_neighbor(c, q0 + i, j);
    }
    return out;
}

void compress_candidates(const BlockCandidates& block, index_t q0, CompactCandidates& c) {
    for (index_t i = 0; i < block.rows; ++i) {
        const auto s = static_cast<std::size_t>(q0 + i);
        c.count[s] = block.count[static_cast<std::size_t>(i)];
        for (index_t j = 0; j < c.count[s]; ++j) {
            const auto e = s * static_cast<std::size_t>(c.k) + static_cast<std::size_t>(j);
            const Neighbor& n = block.best[static_cast<std::size_t>(i * c.k + j)];
            c.distance[e] = n.distance;
            c.index[e] = n.index;
        }
    }
}

void merge_candidates(BlockCandidates& into, const BlockCandidates& from) {
    require(into.first == from.first && into.rows == from.rows && into.k == from.k,
            "merge_candidates: blocks of rows [", from.first, ", ", from.first + from.rows,
            ") and k = ", from.k, " cannot merge into rows [", into.first, ", ", into.first + into.rows,
            ") and k = ", into.k);
    std::vector<Neighbor> merged(static_cast<std::size_t>(2 * into.k));
    for (index_t i = 0; i < into.rows; ++i) {
        const auto s = static_cast<std::size_t>(i);
        Neighbor* a = into.best.data() + i * into.k;
        const Neighbor* b = from.row(i);
        const auto end = std::merge(a, a + into.count[s], b, b + from.count[s], merged.begin());
        const index_t kept = std::min(into.k, static_cast<index_t>(end - merged.begin()));
        std::copy(merged.begin(), merged.begin() + static_cast<std::ptrdiff_t>(kept), a);
        into.count[s] = kept;
    }
}

void write_candidates(const BlockCandidates& c, index_t k, Metric metric, NeighborGraph& graph) {
    require(k >= 1 && k <= c.k, "write_candidates: k must be in [1, ", c.k, "]; got ", k);
    for (index_t i = 0; i < c.rows; ++i)
        require(c.count[static_cast<std::size_t>(i)] >= k, "write_candidates: row ", c.first + i, " holds ",
                c.count[static_cast<std::size_t>(i)], " candidates, fewer than k = ", k);
    graph = allocate_graph(c.rows, k);
    for (index_t i = 0; i < c.rows; ++i) {
        const Neighbor* row = c.row(i);
        for (index_t j = 0; j < k; ++j) {
            graph.indices[static_cast<std::size_t>(i * k + j)] = row[j].index;
            graph.distances[static_cast<std::size_t>(i * k + j)] = reported_distance(metric, row[j].distance);
        }
    }
}

double block_candidates_bytes(double rows, double k) {
    return rows * (k * static_cast<double>(sizeof(Neighbor)) + static_cast<double>(sizeof(index_t)));
}

}  // namespace treesne::detail

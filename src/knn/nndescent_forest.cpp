// Step 1 of the nndescent backend: the random-projection forest. Each tree splits the points recursively
// by the perpendicular bisector of two points drawn from the node (hashes of seed, tree and node: no
// thread state), so every tree is a pure function of the data and they are built in parallel. See
// nndescent.cpp for the whole algorithm.
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "knn/nndescent_internal.hpp"

namespace treesne::detail::nndescent {
namespace {

// Split attempts (pairs of points drawn) per node before the balanced fallback.
constexpr int split_attempts = 3;
// Inside a leaf the points are put in a spatial order by further splits down to this many points.
constexpr index_t order_leaf = 64;

double dot(const float* a, const double* b, index_t d) {
    Lanes acc{};
    index_t j = 0;
    for (; j + kLanes <= d; j += kLanes) acc += load(a + j) * load(b + j);
    double sum = lane_sum(acc);
    for (; j < d; ++j) sum += static_cast<double>(a[j]) * b[j];
    return sum;
}

class TreeBuilder {
  public:
    TreeBuilder(const Points& x, index_t leaf, std::uint64_t tree_seed)
        : x_(x),
          leaf_(leaf),
          seed_(tree_seed),
          normal_(static_cast<std::size_t>(x.cols)),
          row_(static_cast<std::size_t>(x.cols)),
          row_a_(static_cast<std::size_t>(x.cols)),
          row_b_(static_cast<std::size_t>(x.cols)) {}

    // The nodes of at most `leaf` points are the leaves; each is split further, down to order_leaf
    // points, only to put its points in a spatial order (the leaf search then meets near points first).
    Tree build() {
        const index_t n = x_.rows;
        Tree tree;
        tree.order.resize(static_cast<std::size_t>(n));
        for (index_t i = 0; i < n; ++i) tree.order[static_cast<std::size_t>(i)] = static_cast<point_t>(i);
        // Depth-first with an explicit stack (no recursion depth limit), left child first.
        struct Node {
            index_t begin, end;
            std::uint64_t id;
            bool in_leaf;
        };
        std::vector<Node> stack{{0, n, 1, false}};
        while (!stack.empty()) {
            Node node = stack.back();
            stack.pop_back();
            const index_t size = node.end - node.begin;
            if (!node.in_leaf && size <= leaf_) {
                tree.leaf_begin.push_back(node.begin);
                node.in_leaf = true;
            }
            if (node.in_leaf && size <= order_leaf) continue;
            point_t* points = tree.order.data() + node.begin;
            const index_t mid = node.begin + split(points, size, node.id);
            stack.push_back({mid, node.end, draw(node.id, 2), node.in_leaf});
            stack.push_back({node.begin, mid, draw(node.id, 1), node.in_leaf});
        }
        tree.leaf_begin.push_back(n);
        return tree;
    }

  private:
    // Reorders points[0, n) into two non-empty parts and returns the size of the first. The bisector of
    // a random pair of the node's points is tried up to split_attempts times; the most balanced attempt
    // wins. If even that one leaves fewer than n/8 points on a side (duplicates, outliers), the points are
    // split at the median of its projections instead, ties broken by index: always an even split, so the
    // depth stays O(log N) whatever the data (constant data splits by index alone).
    index_t split(point_t* points, index_t n, std::uint64_t node_id) {
        const index_t d = x_.cols;
        projection_.resize(static_cast<std::size_t>(n));
        best_projection_.resize(static_cast<std::size_t>(n));
        index_t best_balance = -1, best_right = 0;
        for (int attempt = 0; attempt < split_attempts; ++attempt) {
            const std::uint64_t h = draw(draw(seed_, node_id), static_cast<std::uint64_t>(attempt));
            const index_t a = static_cast<index_t>(h % static_cast<std::uint64_t>(n));
            index_t b = static_cast<index_t>(draw(h, 0) % static_cast<std::uint64_t>(n - 1));
            if (b >= a) ++b;
            const float* xa = x_.row(points[a], row_a_.data());
            const float* xb = x_.row(points[b], row_b_.data());
            // Normal xa - xb through the midpoint: the side is sign(<x, normal> - <(xa + xb) / 2, normal>).
            for (index_t j = 0; j < d; ++j)
                normal_[static_cast<std::size_t>(j)] = static_cast<double>(xa[j]) - static_cast<double>(xb[j]);
            double offset = 0;
            for (index_t j = 0; j < d; ++j)
                offset += 0.5 * (static_cast<double>(xa[j]) + static_cast<double>(xb[j])) * normal_[static_cast<std::size_t>(j)];
            index_t right = 0;
            for (index_t p = 0; p < n; ++p) {
                const double s = dot(x_.row(points[p], row_.data()), normal_.data(), d) - offset;
                projection_[static_cast<std::size_t>(p)] = s;
                right += s > 0 ? 1 : 0;
            }
            const index_t balance = std::min(right, n - right);
            if (balance > best_balance) {
                best_balance = balance;
                best_right = right;
                projection_.swap(best_projection_);
            }
            if (8 * balance >= n) break;
        }
        const std::vector<double>& s = best_projection_;
        if (8 * best_balance >= n) {
            // Stable partition: left (s <= 0) in their current order, then the right ones.
            scratch_.assign(points, points + n);
            index_t left = 0, right = n - best_right;
            for (index_t p = 0; p < n; ++p) {
                if (s[static_cast<std::size_t>(p)] > 0)
                    points[right++] = scratch_[static_cast<std::size_t>(p)];
                else
                    points[left++] = scratch_[static_cast<std::size_t>(p)];
            }
            return n - best_right;
        }
        keyed_.resize(static_cast<std::size_t>(n));
        for (index_t p = 0; p < n; ++p) keyed_[static_cast<std::size_t>(p)] = {s[static_cast<std::size_t>(p)], points[p]};
        const index_t half = n / 2;
        std::nth_element(keyed_.begin(), keyed_.begin() + half, keyed_.end());
        for (index_t p = 0; p < n; ++p) points[p] = keyed_[static_cast<std::size_t>(p)].second;
        return half;
    }

    const Points& x_;
    index_t leaf_;
    std::uint64_t seed_;
    std::vector<double> normal_, projection_, best_projection_;
    std::vector<float> row_, row_a_, row_b_;  // rows converted from the points' source
    std::vector<point_t> scratch_;
    std::vector<std::pair<double, point_t>> keyed_;
};

}  // namespace

std::vector<Tree> build_forest(const Points& x, const NndescentParameters& p, int threads) {
    std::vector<Tree> trees(static_cast<std::size_t>(p.trees));
    parallel_for(
        p.trees, threads,
        [&](index_t t0, index_t t1) {
            for (index_t t = t0; t < t1; ++t)
                trees[static_cast<std::size_t>(t)] =
                    TreeBuilder(x, p.leaf_size, draw(nndescent_seed, static_cast<std::uint64_t>(t))).build();
        },
        1);
    return trees;
}

}  // namespace treesne::detail::nndescent

// The walk split between processes (SpaceTree::share_bounds, repulsion_share), as a distributed run
// uses it: whatever the shares, equal or sized to each rank's speed, every point's Z_i and repulsive
// force must be repulsion()'s bit for bit, and the shares must tile the tree at leaf boundaries.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/tree/space_tree.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

// Every leaf's first position, and n, in tree order (the only places a share may begin).
template <int Dim>
std::vector<index_t> leaf_starts(SpaceTree<Dim>& tree, index_t n) {
    std::vector<index_t> starts{n};
    for (const auto& node : tree.nodes())
        if (node.leaf) starts.push_back(node.begin);
    std::sort(starts.begin(), starts.end());
    return starts;
}

// The shares' walks put together: Z_s and the forces of every tree position s.
template <int Dim>
std::vector<double> walked(SpaceTree<Dim>& tree, const std::vector<index_t>& bounds, double theta, index_t n) {
    std::vector<double> packed(static_cast<std::size_t>(n) * (Dim + 1));
    Matrix scratch(n, Dim);
    for (std::size_t part = 0; part + 1 < bounds.size(); ++part)
        tree.repulsion_share(theta, bounds, static_cast<int>(part), scratch.view(),
                             packed.data() + static_cast<std::size_t>(bounds[part]) * (Dim + 1), 2);
    return packed;
}

}  // namespace

TEST_CASE("tree shares: any split by weights tiles the tree at leaves and walks to repulsion()'s forces") {
    const index_t n = 3000;
    const Matrix y = random_matrix(n, 2, 91);
    SpaceTree<2> tree;
    tree.build(y.view(), 2);
    Matrix forces(n, 2);
    tree.repulsion(0.5, forces.view(), 2);
    std::vector<double> z;
    tree.point_z(z);
    const std::vector<index_t> starts = leaf_starts(tree, n);
    const std::vector<point_t>& order = tree.order();
    for (const std::vector<double>& weights :
         std::vector<std::vector<double>>{{1}, {1, 1}, {1, 3}, {5, 1, 2}, {1, 1, 1, 1}, {1e-6, 1}, {1, 1e-6, 1}}) {
        CAPTURE(weights.size());
        const std::vector<index_t> bounds = tree.share_bounds(weights);
        REQUIRE(bounds.size() == weights.size() + 1);
        CHECK(bounds.front() == 0);
        CHECK(bounds.back() == n);
        double total = 0;
        for (const double w : weights) total += w;
        index_t largest_leaf = 0;
        for (std::size_t l = 0; l + 1 < starts.size(); ++l) largest_leaf = std::max(largest_leaf, starts[l + 1] - starts[l]);
        double before = 0;
        for (std::size_t p = 0; p + 1 < bounds.size(); ++p) {
            CHECK(bounds[p] <= bounds[p + 1]);
            CHECK(std::binary_search(starts.begin(), starts.end(), bounds[p]));
            // Each cut lies at the first leaf start at or past its share of the points.
            if (p > 0) CHECK(std::abs(static_cast<double>(bounds[p]) - n * before / total) <= largest_leaf);
            before += weights[p];
        }
        const std::vector<double> packed = walked(tree, bounds, 0.5, n);
        bool same = true;
        for (index_t s = 0; s < n; ++s) {
            const point_t i = order[static_cast<std::size_t>(s)];
            same = same && packed[static_cast<std::size_t>(s) * 3] == z[i] &&
                   packed[static_cast<std::size_t>(s) * 3 + 1] == forces(i, 0) &&
                   packed[static_cast<std::size_t>(s) * 3 + 2] == forces(i, 1);
        }
        CHECK(same);
    }
    // Equal weights cut where share_bounds(parts) does.
    for (int parts = 1; parts <= 4; ++parts) CHECK(tree.share_bounds(std::vector<double>(parts, 1.0)) == tree.share_bounds(parts));
    CHECK_THROWS_AS(tree.share_bounds(std::vector<double>{1, 0}), InvalidArgument);
    CHECK_THROWS_AS(tree.share_bounds(std::vector<double>{}), InvalidArgument);
}

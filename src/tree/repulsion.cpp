// Barnes-Hut repulsion through a built SpaceTree: group walks per leaf (Barnes 1990) that collect
// interaction lists, then the kernels of bh_kernels.hpp over them. See space_tree.hpp for the contract.
#include "treesne/tree/space_tree.hpp"

#include <array>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "tree/bh_kernels.hpp"
#include "tree/box.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne {
namespace {

using detail::Box;
using detail::bounding_box;
using detail::bh::Interactions;
using detail::bh::Kernel;
using detail::bh::KernelConstants;
using detail::bh::TreeNode;
using detail::bh::interact;

// What the repulsion walk reads (the nodes in pre-order, coordinates and input indices in tree order,
// the criterion) and writes (per-point Z in tree order, forces in input order).
template <int Dim>
struct Walk {
    const TreeNode<Dim>* nodes;
    std::uint32_t node_count;
    const double* pos;
    const point_t* order;
    double theta2;
    bool quadrupole;
    double* point_z;
    MatrixView forces;
    KernelConstants kernel;
};

// Squared distance from c to the box (0 inside it).
template <int Dim>
inline double gap_squared(const std::array<double, Dim>& c, const Box<Dim>& box) {
    double gap2 = 0.0;
    for (int d = 0; d < Dim; ++d) {
        const double g = c[d] < box.lo[d] ? box.lo[d] - c[d] : (c[d] > box.hi[d] ? c[d] - box.hi[d] : 0.0);
        gap2 += g * g;
    }
    return gap2;
}

// Group walk (Barnes 1990): one traversal per leaf builds the lists of cells and points that every point
// of the leaf interacts with; a cell is summarised only if the criterion holds for the whole leaf (the
// distance is measured from the centre of mass to the leaf's bounding box, so it is at least as strict
// as the per-point test). Own: the group is the tree's own leaf `leaf` (its ancestors are opened and it
// adds its own points); otherwise a group of other points (repulsion_on), and leaf is null.
template <class Real, int Dim, bool Own>
void collect_for_box(const Walk<Dim>& walk, const Box<Dim>& box, const TreeNode<Dim>* leaf,
                     Interactions<Real, Dim>& list) {
    list.clear(box);
    std::uint32_t at = 0;
    while (at < walk.node_count) {
        const TreeNode<Dim>& node = walk.nodes[at];
        if constexpr (Own) {
            if (node.begin <= leaf->begin && leaf->end <= node.end) {  // an ancestor, or the leaf itself
                if (node.leaf) {
                    list.add_points(node, true, walk.quadrupole, walk.pos);
                    at = node.skip;
                } else {
                    ++at;
                }
                continue;
            }
        }
        // Barnes-Hut criterion (bhtsne's convention): half-width / distance < theta.
        if (node.half_width * node.half_width < walk.theta2 * gap_squared<Dim>(node.center_of_mass, box)) {
            list.add_cell(node, static_cast<double>(node.end - node.begin), walk.quadrupole);
            at = node.skip;
        } else if (node.leaf) {
            list.add_points(node, false, walk.quadrupole, walk.pos);
            at = node.skip;
        } else {
            ++at;
        }
    }
    list.pad();
}

template <class Real, int Dim>
void collect_interactions(const Walk<Dim>& walk, const TreeNode<Dim>& leaf, Interactions<Real, Dim>& list) {
    collect_for_box<Real, Dim, true>(walk, bounding_box<Dim>(walk.pos, leaf.begin, leaf.end), &leaf, list);
}


// Z and force of the tree point s from its leaf's lists.
template <class Real, int Dim, Kernel K>
inline void point_repulsion(const Walk<Dim>& walk, std::uint32_t s, const Interactions<Real, Dim>& list,
                            bool self_in_list) {
    std::array<double, Dim> f;
    const double z = interact<Real, Dim, K>(walk.pos + std::size_t{s} * Dim, list, walk.kernel, f);
    walk.point_z[s] = z - (self_in_list ? 1.0 : 0.0);
    double* out = walk.forces.row(walk.order[s]);
    for (int d = 0; d < Dim; ++d) out[d] = f[d];
}

// Z and forces of a leaf's points. The points of a coincident leaf all get those of its first point.
template <class Real, int Dim, Kernel K>
void leaf_repulsion(const Walk<Dim>& walk, const TreeNode<Dim>& leaf, const Interactions<Real, Dim>& list) {
    const std::uint32_t computed_end = leaf.coincident ? leaf.begin + 1 : leaf.end;
    for (std::uint32_t s = leaf.begin; s < computed_end; ++s)
        point_repulsion<Real, Dim, K>(walk, s, list, !leaf.coincident);
    const double* first = walk.forces.row(walk.order[leaf.begin]);
    for (std::uint32_t s = computed_end; s < leaf.end; ++s) {
        walk.point_z[s] = walk.point_z[leaf.begin];
        double* out = walk.forces.row(walk.order[s]);
        for (int d = 0; d < Dim; ++d) out[d] = first[d];
    }
}

// Per leaf: collect its interaction lists, then sum them for each of its points over contiguous arrays,
// a vector at a time.
template <class Real, Kernel K, int Dim>
void walk_leaves(const Walk<Dim>& walk, const std::vector<std::uint32_t>& leaves, int threads) {
    parallel_for_guided(
        static_cast<index_t>(leaves.size()), threads,
        [&](index_t first, index_t last) {
            // kept: its vectors grow once per thread, not per range
            thread_local Interactions<Real, Dim> list;
            for (index_t li = first; li < last; ++li) {
                const TreeNode<Dim>& leaf = walk.nodes[leaves[static_cast<std::size_t>(li)]];
                collect_interactions(walk, leaf, list);
                leaf_repulsion<Real, Dim, K>(walk, leaf, list);
            }
        },
        1);
}

// What repulsion_on reads besides the source tree's walk: the query tree's nodes, leaves, coordinates
// and input indices in its tree order; and what it writes, by query input index.
template <int Dim>
struct QueryGroups {
    const TreeNode<Dim>* nodes;
    const std::vector<std::uint32_t>& leaves;
    const double* pos;
    const point_t* order;
    double* z;
    MatrixView forces;
};

// Per query leaf: the source tree's interaction lists for the leaf's bounding box, then every query
// point of the leaf against them.
template <class Real, Kernel K, int Dim>
void walk_query_leaves(const Walk<Dim>& walk, const QueryGroups<Dim>& queries, int threads) {
    parallel_for_guided(
        static_cast<index_t>(queries.leaves.size()), threads,
        [&](index_t first, index_t last) {
            thread_local Interactions<Real, Dim> list;
            for (index_t li = first; li < last; ++li) {
                const TreeNode<Dim>& leaf = queries.nodes[queries.leaves[static_cast<std::size_t>(li)]];
                collect_for_box<Real, Dim, false>(walk, bounding_box<Dim>(queries.pos, leaf.begin, leaf.end),
                                                  nullptr, list);
                for (std::uint32_t s = leaf.begin; s < leaf.end; ++s) {
                    std::array<double, Dim> f;
                    const point_t i = queries.order[s];
                    queries.z[i] =
                        interact<Real, Dim, K>(queries.pos + std::size_t{s} * Dim, list, walk.kernel, f);
                    double* out = queries.forces.row(i);
                    for (int d = 0; d < Dim; ++d) out[d] = f[d];
                }
            }
        },
        1);
}

// Calls fn with the kernel of alpha as a compile-time constant: the branch is taken once per walk, so
// alpha = 1 runs the Cauchy kernel's loops untouched.
template <class Fn>
void with_kernel(double alpha, Fn&& fn) {
    if (alpha == 1.0) {
        fn(std::integral_constant<Kernel, Kernel::cauchy>{});
    } else {
        fn(std::integral_constant<Kernel, Kernel::general>{});
    }
}

// Calls fn(kernel, real) with the kernel of alpha (see with_kernel) and a value of the walk's floating
// type: float where `single` (the tree asked for single precision and theta is large enough), else double.
template <class Fn>
void with_walk_types(double alpha, bool single, Fn&& fn) {
    with_kernel(alpha, [&](auto kernel) {
        if (single) {
            fn(kernel, float{});
        } else {
            fn(kernel, double{});
        }
    });
}

}  // namespace

template <int Dim>
void SpaceTree<Dim>::set_dof(double alpha) {
    require(std::isfinite(alpha) && alpha > 0,
            "SpaceTree::set_dof: the degrees of freedom must be finite and > 0; got ", alpha);
    dof_ = alpha;
}

template <int Dim>
void SpaceTree<Dim>::repulsion_on(const SpaceTree& queries, double theta, MatrixView forces,
                                  std::vector<double>& z, int threads) const {
    require(!nodes_.empty() && !queries.nodes_.empty(), "SpaceTree::repulsion_on: build() both trees first");
    require(forces.rows == queries.n_ && forces.cols == Dim, "SpaceTree::repulsion_on: the force buffer is ",
            forces.rows, " x ", forces.cols, "; expected ", queries.n_, " x ", Dim);
    require(theta >= 0, "SpaceTree::repulsion_on: theta must be >= 0; got ", theta);
    z.resize(static_cast<std::size_t>(queries.n_));
    const Walk<Dim> walk{nodes_.data(),
                         static_cast<std::uint32_t>(nodes_.size()),
                         positions_.data(),
                         order_.data(),
                         theta * theta,
                         quadrupole_,
                         nullptr,
                         {},
                         KernelConstants::of(dof_)};
    const QueryGroups<Dim> groups{queries.nodes_.data(), queries.leaves_, queries.positions_.data(),
                                  queries.order_.data(), z.data(),        forces};
    with_walk_types(dof_, single_precision_ && theta >= single_precision_min_theta, [&](auto kernel, auto real) {
        walk_query_leaves<decltype(real), decltype(kernel)::value>(walk, groups, threads);
    });
}

template <int Dim>
void SpaceTree<Dim>::point_z(std::vector<double>& z) const {
    require(repelled_, "SpaceTree::point_z: call repulsion() after build() first");
    z.resize(static_cast<std::size_t>(n_));
    for (std::size_t s = 0; s < z.size(); ++s) z[order_[s]] = point_z_[s];
}

template <int Dim>
void SpaceTree<Dim>::walk(const std::vector<std::uint32_t>& leaves, double theta, MatrixView forces, int threads) {
    point_z_.resize(static_cast<std::size_t>(n_));
    const Walk<Dim> w{nodes_.data(),
                      static_cast<std::uint32_t>(nodes_.size()),
                      positions_.data(),
                      order_.data(),
                      theta * theta,
                      quadrupole_,
                      point_z_.data(),
                      forces,
                      KernelConstants::of(dof_)};
    with_walk_types(dof_, single_precision_ && theta >= single_precision_min_theta, [&](auto kernel, auto real) {
        walk_leaves<decltype(real), decltype(kernel)::value>(w, leaves, threads);
    });
}

template <int Dim>
double SpaceTree<Dim>::repulsion(double theta, MatrixView forces, int threads) {
    require(forces.rows == n_ && forces.cols == Dim, "SpaceTree::repulsion: the force buffer is ",
            forces.rows, " x ", forces.cols, "; expected ", n_, " x ", Dim);
    assert(!nodes_.empty() && "SpaceTree::repulsion: build() the tree first");
    walk(leaves_, theta, forces, threads);
    repelled_ = true;
    return parallel_sum(n_, threads, [&](index_t begin, index_t end) {
        double total = 0.0;
        for (index_t s = begin; s < end; ++s) total += point_z_[static_cast<std::size_t>(s)];
        return total;
    });
}

template <int Dim>
std::vector<index_t> SpaceTree<Dim>::share_bounds(int parts) const {
    require(parts >= 1 && !nodes_.empty(), "SpaceTree::share_bounds: ", parts, " parts of a tree of ", nodes_.size(),
            " nodes");
    std::vector<index_t> bounds(static_cast<std::size_t>(parts) + 1, n_);
    bounds[0] = 0;
    int part = 1;
    for (const std::uint32_t l : leaves_) {  // leaves in tree order
        const index_t begin = nodes_[l].begin;
        while (part < parts && begin * parts >= n_ * part) bounds[static_cast<std::size_t>(part++)] = begin;
    }
    return bounds;
}

template <int Dim>
std::vector<index_t> SpaceTree<Dim>::share_bounds(const std::vector<double>& weights) const {
    const auto parts = static_cast<int>(weights.size());
    require(parts >= 1 && !nodes_.empty(), "SpaceTree::share_bounds: ", parts, " parts of a tree of ", nodes_.size(),
            " nodes");
    double total = 0;
    for (const double w : weights) {
        require(w > 0 && std::isfinite(w), "SpaceTree::share_bounds: weight ", w, " is not a positive number");
        total += w;
    }
    std::vector<index_t> bounds(static_cast<std::size_t>(parts) + 1, n_);
    bounds[0] = 0;
    int part = 1;
    double before = weights[0];  // the weight of the shares before `part`
    for (const std::uint32_t l : leaves_) {
        const index_t begin = nodes_[l].begin;
        while (part < parts && static_cast<double>(begin) >= static_cast<double>(n_) * before / total) {
            bounds[static_cast<std::size_t>(part)] = begin;
            before += weights[static_cast<std::size_t>(part++)];
        }
    }
    return bounds;
}

template <int Dim>
void SpaceTree<Dim>::repulsion_share(double theta, const std::vector<index_t>& bounds, int part, MatrixView forces,
                                     double* packed, int threads) {
    require(forces.rows == n_ && forces.cols == Dim, "SpaceTree::repulsion_share: the force buffer is ",
            forces.rows, " x ", forces.cols, "; expected ", n_, " x ", Dim);
    require(part >= 0 && static_cast<std::size_t>(part) + 1 < bounds.size(), "SpaceTree::repulsion_share: part ",
            part, " of ", bounds.size() - 1);
    assert(!nodes_.empty() && "SpaceTree::repulsion_share: build() the tree first");
    const index_t first = bounds[static_cast<std::size_t>(part)], last = bounds[static_cast<std::size_t>(part) + 1];
    std::vector<std::uint32_t> mine;  // the share's leaves, in tree order
    for (const std::uint32_t l : leaves_)
        if (nodes_[l].begin >= first && nodes_[l].begin < last) mine.push_back(l);
    walk(mine, theta, forces, threads);
    for (index_t s = first; s < last; ++s) {
        double* out = packed + (s - first) * (Dim + 1);
        out[0] = point_z_[static_cast<std::size_t>(s)];
        const double* f = forces.row(order_[static_cast<std::size_t>(s)]);
        for (int d = 0; d < Dim; ++d) out[1 + d] = f[d];
    }
    repelled_ = false;  // point_z_ holds only this share: point_z() must not read it
}

template void SpaceTree<1>::walk(const std::vector<std::uint32_t>&, double, MatrixView, int);
template void SpaceTree<2>::walk(const std::vector<std::uint32_t>&, double, MatrixView, int);
template void SpaceTree<3>::walk(const std::vector<std::uint32_t>&, double, MatrixView, int);
template void SpaceTree<1>::set_dof(double);
template void SpaceTree<2>::set_dof(double);
template void SpaceTree<3>::set_dof(double);
template void SpaceTree<1>::repulsion_on(const SpaceTree<1>&, double, MatrixView, std::vector<double>&, int) const;
template void SpaceTree<2>::repulsion_on(const SpaceTree<2>&, double, MatrixView, std::vector<double>&, int) const;
template void SpaceTree<3>::repulsion_on(const SpaceTree<3>&, double, MatrixView, std::vector<double>&, int) const;
template void SpaceTree<1>::point_z(std::vector<double>&) const;
template void SpaceTree<2>::point_z(std::vector<double>&) const;
template void SpaceTree<3>::point_z(std::vector<double>&) const;
template double SpaceTree<1>::repulsion(double, MatrixView, int);
template std::vector<index_t> SpaceTree<1>::share_bounds(int) const;
template std::vector<index_t> SpaceTree<1>::share_bounds(const std::vector<double>&) const;
template void SpaceTree<1>::repulsion_share(double, const std::vector<index_t>&, int, MatrixView, double*, int);
template double SpaceTree<2>::repulsion(double, MatrixView, int);
template std::vector<index_t> SpaceTree<2>::share_bounds(int) const;
template std::vector<index_t> SpaceTree<2>::share_bounds(const std::vector<double>&) const;
template void SpaceTree<2>::repulsion_share(double, const std::vector<index_t>&, int, MatrixView, double*, int);
template double SpaceTree<3>::repulsion(double, MatrixView, int);
template std::vector<index_t> SpaceTree<3>::share_bounds(int) const;
template std::vector<index_t> SpaceTree<3>::share_bounds(const std::vector<double>&) const;
template void SpaceTree<3>::repulsion_share(double, const std::vector<index_t>&, int, MatrixView, double*, int);

}  // namespace treesne

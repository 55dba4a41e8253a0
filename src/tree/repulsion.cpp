// Barnes-Hut repulsion through a built SpaceTree: the walks themselves (group walks per leaf, Barnes
// 1990) are in simd_kernels.inc, compiled per instruction set (simd.hpp). See space_tree.hpp for the
// contract.
#include "treesne/tree/space_tree.hpp"

#include <cassert>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tree/simd.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne {

template <int Dim>
void SpaceTree<Dim>::set_dof(double alpha) {
    require(std::isfinite(alpha) && alpha > 0,
            "SpaceTree::set_dof: the degrees of freedom must be finite and > 0; got ", alpha);
    dof_ = alpha;
}

template <int Dim>
detail::WalkArgs<Dim> SpaceTree<Dim>::walk_args(double theta, double* point_z, MatrixView forces) const {
    return {nodes_.data(),
            static_cast<std::uint32_t>(nodes_.size()),
            positions_.data(),
            order_.data(),
            theta * theta,
            quadrupole_,
            single_precision_ && theta >= single_precision_min_theta,
            dof_,
            point_z,
            forces};
}

template <int Dim>
void SpaceTree<Dim>::repulsion_on(const SpaceTree& queries, double theta, MatrixView forces,
                                  std::vector<double>& z, int threads) const {
    require(!nodes_.empty() && !queries.nodes_.empty(), "SpaceTree::repulsion_on: build() both trees first");
    require(forces.rows == queries.n_ && forces.cols == Dim, "SpaceTree::repulsion_on: the force buffer is ",
            forces.rows, " x ", forces.cols, "; expected ", queries.n_, " x ", Dim);
    require(theta >= 0, "SpaceTree::repulsion_on: theta must be >= 0; got ", theta);
    z.resize(static_cast<std::size_t>(queries.n_));
    const detail::WalkArgs<Dim> walk = walk_args(theta, nullptr, {});  // writes through groups
    const detail::QueryGroups<Dim> groups{queries.nodes_.data(), queries.leaves_, queries.positions_.data(),
                                          queries.order_.data(), z.data(),        forces};
    detail::walk_queries<Dim>(walk, groups, threads);
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
    detail::walk_leaves<Dim>(walk_args(theta, point_z_.data(), forces), leaves, threads);
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

template detail::WalkArgs<1> SpaceTree<1>::walk_args(double, double*, MatrixView) const;
template detail::WalkArgs<2> SpaceTree<2>::walk_args(double, double*, MatrixView) const;
template detail::WalkArgs<3> SpaceTree<3>::walk_args(double, double*, MatrixView) const;
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

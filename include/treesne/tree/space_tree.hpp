// SpaceTree<Dim>: a flat 2^Dim-tree (binary tree, quadtree, octree) over an embedding, for Barnes-Hut
// repulsion (van der Maaten 2014, sec. 4.2).
//
// Layout: points are sorted along a Morton (Z-order) curve of a cubic grid over their bounding box;
// every node is a contiguous range of that order. Nodes are stored in depth-first pre-order in one vector
// with a `skip` index to the next node outside the subtree, so a traversal is a single forward loop with
// no stack. Storage is reused by every build. Points that share a cell of the finest grid (21 bits per
// axis) are re-gridded over their own bounding box, so a tight cluster far from outliers still splits;
// exact duplicates end in one "coincident" leaf, which is summarised exactly.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "treesne/core/types.hpp"

namespace treesne {

namespace detail {
template <int Dim>
struct WalkArgs;
}  // namespace detail

template <int Dim>
class SpaceTree {
    static_assert(Dim >= 1 && Dim <= 3, "SpaceTree supports 1, 2 or 3 dimensions");

  public:
    /// Largest number of points a leaf holds before it is split (unless the depth cap is reached). The
    /// repulsion walk runs once per leaf for all of its points (a group walk), so larger leaves mean fewer
    /// walks and more direct, vectorised pairs. 64 was the fastest on Fashion-MNIST 70,000, and, since the
    /// group criterion holds for a whole leaf, larger leaves are more accurate at the same theta
    /// (benchmarks/RESULTS.md, section 10.6).
    static constexpr int default_leaf_capacity = 64;

    /// The smallest theta at which the single-precision kernels are used (see set_single_precision).
    static constexpr double single_precision_min_theta = 0.2;

    /// Second central moments of a node's points, (1/n) sum (y - com)(y - com)^T, upper triangle row by
    /// row (Dim = 2: xx, xy, yy). Used by the quadrupole correction.
    using Moments = std::array<double, Dim*(Dim + 1) / 2>;

    struct Node {
        std::array<double, Dim> center_of_mass;
        Moments moments;
        double half_width;    ///< half the side of the node's cubic cell
        std::uint32_t begin;  ///< first point (in tree order)
        std::uint32_t end;    ///< one past the last point
        std::uint32_t skip;   ///< next node in pre-order outside this subtree
        bool leaf;
        /// A leaf of two or more points that are all exactly equal (duplicates that the optimisation has
        /// not separated; identical inputs with a PCA init stay together). Its centre of mass is their
        /// common position and its moments are zero, so summarising it is exact: the repulsion walk treats
        /// it as one cell, and computes one force for all of its points, whatever theta. Without this a
        /// leaf of m duplicates (the depth cap stops splitting it) would cost O(m^2) per iteration.
        bool coincident;
    };

    /// Builds (or rebuilds, reusing storage) the tree over the n x Dim row-major coordinates y.
    /// Throws InvalidArgument if y is not n x Dim with 1 <= n < 2^32 - 1, NumericalError if it holds a
    /// non-finite coordinate. borrowed (optional): a buffer idle during the build (barnes_hut_gradient
    /// passes the gradient's, which the repulsion writes after it), not overlapping y, whose memory the
    /// sort of the Morton codes may use instead of its own 12 bytes a point (where it is one run: the
    /// build on one thread, and dims >= 2 so that it is large enough); its values are lost. The tree
    /// is the same with or without it.
    void build(ConstMatrixView y, int threads, MatrixView borrowed = {});

    /// Barnes-Hut repulsion. For every point i writes the unnormalised repulsive force
    /// sum_{j!=i} w_ij^(1+1/alpha) (y_i - y_j) with w_ij = (1+|y_i-y_j|^2/alpha)^-alpha (alpha = dof(); 1:
    /// t-SNE's q_ij^2 (y_i - y_j), q_ij = (1+|y_i-y_j|^2)^-1) into forces (n x Dim, input order) and
    /// returns Z = sum_{i!=j} w_ij. A cell is summarised by its centre of mass when it does not contain i
    /// and half_width / distance < theta (bhtsne's convention: cell half-width over the distance to the
    /// centre of mass); theta = 0 is exact.
    /// The result is the same bit for bit for any thread count. Precondition (asserted): build() was
    /// called. Throws InvalidArgument if forces is not n x Dim.
    double repulsion(double theta, MatrixView forces, int threads);

    /// Z_i = sum_{j != i} w_ij of each point from the last repulsion(), in input order, into z (resized to
    /// n). Throws InvalidArgument if repulsion() has not run since the last build().
    void point_z(std::vector<double>& z) const;

    /// The tree positions where `parts` shares of the points begin, cut at leaf boundaries (parts + 1
    /// values, 0 first, n last): share p holds the leaves whose first point lies in
    /// [n p / parts, n (p + 1) / parts), so shares are contiguous in tree order and no leaf is split.
    std::vector<index_t> share_bounds(int parts) const;

    /// The same with share p holding about weights[p] / sum(weights) of the points (weights > 0): for
    /// shares sized to the speed of whoever walks them.
    std::vector<index_t> share_bounds(const std::vector<double>& weights) const;

    /// repulsion() for the points of tree positions [bounds[part], bounds[part + 1]) only (share_bounds):
    /// walks just their leaves and writes, for each position s in that range, Z_s then the Dim force
    /// components into packed[(s - bounds[part]) (Dim + 1) ...]. Each value is the one repulsion()
    /// computes, bit for bit (a point's force depends only on its leaf's walk). forces (n x Dim) is
    /// scratch. A distributed run gathers every share and adds Z over tree positions, as repulsion() does.
    void repulsion_share(double theta, const std::vector<index_t>& bounds, int part, MatrixView forces,
                         double* packed, int threads);

    /// Barnes-Hut repulsion of this tree's points on points that are not in it (transform: new points
    /// against a fixed reference). `queries` is a tree built over the M query points; its leaves group
    /// the walks as repulsion() groups by its own leaves. For each query point i (queries' input order)
    /// writes sum_j w_ij^(1+1/alpha) (y_i - y_j) over this tree's points j into forces row i and
    /// z[i] = sum_j w_ij (z resized to M), with this tree's dof() (the query tree's is not used). The same
    /// criterion (a cell is summarised when its half-width / the distance from its centre of mass to the
    /// query leaf's bounding box < theta), quadrupole and single-precision kernels as repulsion(); theta = 0
    /// is exact. Nothing is skipped: a query point at the position of a tree point gets 1 in z[i] from it.
    /// The same bit for bit for any thread count. Throws InvalidArgument unless both trees are built, forces
    /// is M x Dim and theta >= 0.
    void repulsion_on(const SpaceTree& queries, double theta, MatrixView forces, std::vector<double>& z,
                      int threads) const;

    /// Quadrupole correction (on by default): summarised cells add the second-order term of the Taylor
    /// expansion of w and w^(1+1/alpha) (y_i - y) about the centre of mass (derived for every alpha), using
    /// the cell's second moments. The monopole error O((w/r)^2) becomes O((w/r)^3) for ~20 more flops per
    /// summarised cell, so the same theta gives a much more accurate gradient and Z than bhtsne's monopole.
    /// Off = bhtsne's scheme.
    void set_quadrupole(bool on) { quadrupole_ = on; }

    /// Single-precision interaction kernels (on by default) for theta >= single_precision_min_theta: the
    /// summarised cells and direct pairs of a leaf are evaluated in float, twice the lanes per vector,
    /// with coordinates relative to the leaf's centre (so near pairs are differences of small numbers),
    /// summed in float over one point's list and in double from there. The result stays within ~1e-7
    /// relative of the double kernels' (tests/test_space_tree.cpp: 3e-8 to 2e-7 in 1-3 D), at least 100x
    /// below the Barnes-Hut error at those theta (2e-5 or more at 0.2, 1e-2 at 0.5). Smaller theta, where
    /// the approximation error approaches float rounding, and theta = 0 (exact) run in double.
    /// Off = double always.
    void set_single_precision(bool on) { single_precision_ = on; }

    /// Degrees of freedom alpha of the output kernel w = (1 + d^2/alpha)^-alpha (Kobak et al. 2019) for
    /// the next repulsion() and repulsion_on(); 1 (the default) is t-SNE's Cauchy kernel, smaller is
    /// heavier-tailed. Any other alpha costs a vectorised log and exp per interaction (alpha = 1 needs
    /// neither: its loops are unchanged). Throws InvalidArgument unless alpha is finite and > 0.
    void set_dof(double alpha);
    double dof() const { return dof_; }

    /// Sets the leaf capacity (>= 1) for the next build(). Throws InvalidArgument otherwise.
    void set_leaf_capacity(int capacity);
    int leaf_capacity() const { return leaf_capacity_; }

    const std::vector<Node>& nodes() const { return nodes_; }
    /// order()[s] = input index of the s-th point in tree order.
    const std::vector<point_t>& order() const { return order_; }

  private:
    // What a walk of this tree reads (detail::WalkArgs, src/tree/simd.hpp), writing Z_s into point_z (by
    // tree position; null: not written) and forces into `forces`.
    detail::WalkArgs<Dim> walk_args(double theta, double* point_z, MatrixView forces) const;
    // The repulsion walk over the given leaves (all of them, or one share): forces into `forces` (input
    // rows), Z_s into point_z_ (resized to n).
    void walk(const std::vector<std::uint32_t>& leaves, double theta, MatrixView forces, int threads);

    void sort_by_morton(ConstMatrixView y, const std::array<double, Dim>& corner, double half, int threads,
                        MatrixView borrowed);
    void radix_sort(int threads, MatrixView borrowed);
    void gather_positions(ConstMatrixView y, int threads);
    void build_nodes(double half, int threads);
    void plan_node(std::uint32_t begin, std::uint32_t end, int level, double half, std::uint32_t cutoff);
    std::size_t splice(std::size_t at);
    void build_node(std::vector<Node>& out, std::uint32_t begin, std::uint32_t end, int level, double half);
    static void finish_node(Node& me, std::uint32_t begin, std::uint32_t end, bool leaf, bool coincident,
                            double half, const std::array<double, Dim>& com, const Moments& mom,
                            std::uint32_t skip);
    std::uint32_t digit_run_end(std::uint32_t begin, std::uint32_t end, int shift,
                                std::uint64_t digit_mask) const;
    bool regrid(std::uint32_t begin, std::uint32_t end, double& half);
    bool sum_leaf(std::uint32_t begin, std::uint32_t end, std::array<double, Dim>& com, Moments& mom) const;
    void build_children(std::vector<Node>& out, std::uint32_t begin, std::uint32_t end, int level,
                        double half, std::array<double, Dim>& com, Moments& mom);
    static void combine_children(const std::vector<Node>& nodes, const std::size_t* children, int child_count,
                                 std::uint32_t begin, std::uint32_t end, std::array<double, Dim>& com,
                                 Moments& mom);

    // The top of the tree in pre-order, as planned by build_nodes: a node whose subtree is built
    // separately (subtree >= 0, an index into subtrees_), or a node built from its children, the items
    // up to `next`.
    struct TopItem {
        std::uint32_t begin, end;
        int level;
        double half;
        int subtree;
        std::size_t next;
    };
    struct Subtree {
        std::uint32_t begin, end;
        int level;
        double half;
        std::vector<Node> nodes;  // pre-order, skip relative to this vector
    };
    std::vector<TopItem> top_;
    std::vector<Subtree> subtrees_;

    std::vector<Node> nodes_;
    std::vector<point_t> order_;         // tree order -> input index
    std::vector<std::uint32_t> leaves_;  // indices of the leaf nodes, in tree order
    std::vector<std::uint64_t> codes_;   // Morton codes in tree order
    std::vector<double> positions_;      // coordinates in tree order (n x Dim)
    std::vector<double> point_z_;        // per-point partial Z in tree order
    std::vector<std::uint64_t> scratch_codes_;
    std::vector<point_t> scratch_order_;
    std::vector<std::uint32_t> radix_counts_;
    index_t n_ = 0;
    bool quadrupole_ = true;
    bool single_precision_ = true;
    double dof_ = 1.0;
    int leaf_capacity_ = default_leaf_capacity;
    bool repelled_ = false;  // repulsion() ran since the last build(): point_z_ is current
};

/// Bytes of a SpaceTree over N points in `dims` dimensions (memory.hpp's model): per point its order,
/// Morton code, scratch code and order, a radix count and a partial Z (4 + 8 + 8 + 4 + 8) and its
/// coordinates (8 dims); and at most 2 N / 8 nodes of sizeof(Node) = 8 + 8 dims + 4 dims (dims + 1) + 16.
/// sort_borrowed: the build sorts through a borrowed buffer (gradient_borrows_sort), without the scratch
/// code and order (12 bytes a point).
double space_tree_bytes(double n, double dims, bool sort_borrowed = false);

extern template class SpaceTree<1>;
extern template class SpaceTree<2>;
extern template class SpaceTree<3>;

}  // namespace treesne

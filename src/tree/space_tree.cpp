// Flat Morton-ordered 2^Dim-tree for Barnes-Hut repulsion: its build (Morton sort, nodes, centres of mass
// and second moments). The repulsion walks are in repulsion.cpp. See space_tree.hpp for the layout.
#include "treesne/tree/space_tree.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <type_traits>

#include "core/radix_sort.hpp"
#include "tree/box.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne {
namespace {

// Grid resolution per axis: the tree depth cap. 21 bits per axis keeps 3-D codes within 63 bits; a
// cell at the deepest level is 2^-21 of the embedding's extent, far below any useful resolution.
constexpr int kBits = 21;

// The low kBits bits of x moved to bits 0, Dim, 2 Dim, ... (zeros between): five shift-and-mask steps
// instead of a loop over the bits, which dominated the tree build (RESULTS.md, section 10.6).
template <int Dim>
inline std::uint64_t spread_bits(std::uint64_t x) {
    static_assert(kBits == 21, "the masks below spread 21 bits");
    x &= (std::uint64_t{1} << kBits) - 1;
    if constexpr (Dim == 2) {
        x = (x | (x << 16)) & 0x0000FFFF0000FFFFull;
        x = (x | (x << 8)) & 0x00FF00FF00FF00FFull;
        x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0Full;
        x = (x | (x << 2)) & 0x3333333333333333ull;
        x = (x | (x << 1)) & 0x5555555555555555ull;
    } else if constexpr (Dim == 3) {
        x = (x | (x << 32)) & 0x001F00000000FFFFull;
        x = (x | (x << 16)) & 0x001F0000FF0000FFull;
        x = (x | (x << 8)) & 0x100F00F00F00F00Full;
        x = (x | (x << 4)) & 0x10C30C30C30C30C3ull;
        x = (x | (x << 2)) & 0x1249249249249249ull;
    }
    return x;
}

// The Morton code of point y in the 2^kBits grid whose lowest corner is `corner`, with `scale` cells per
// unit length (points outside are clamped into the grid).
template <int Dim>
std::uint64_t morton_code(const double* y, const std::array<double, Dim>& corner, double scale) {
    constexpr double max_cell = static_cast<double>((1u << kBits) - 1);
    std::array<std::uint32_t, Dim> cell;
    for (int d = 0; d < Dim; ++d) {
        // Clamp in double, then convert: converting a double outside uint32's range is undefined.
        // max(0, t) comes first so that a NaN maps to cell 0.
        const double t = std::min(max_cell, std::max(0.0, (y[d] - corner[d]) * scale));
        cell[d] = static_cast<std::uint32_t>(t);
    }
    // Interleaved, most significant bit first, axis 0 highest within each group of Dim bits.
    std::uint64_t code = 0;
    for (int d = 0; d < Dim; ++d) code |= spread_bits<Dim>(cell[d]) << (Dim - 1 - d);
    return code;
}

using detail::Box;
using detail::bounding_box;


// Bounding box of y's rows: per fixed block in parallel, then the blocks in order (min and max are
// exact, so any order would do).
template <int Dim>
Box<Dim> parallel_bounding_box(ConstMatrixView y, int threads) {
    constexpr index_t block = 8192;
    const index_t blocks = (y.rows + block - 1) / block;
    std::vector<Box<Dim>> boxes(static_cast<std::size_t>(blocks));
    parallel_for(
        blocks, threads,
        [&](index_t b0, index_t b1) {
            for (index_t b = b0; b < b1; ++b) {
                const auto begin = static_cast<std::size_t>(b * block);
                const auto end = static_cast<std::size_t>(std::min(y.rows, (b + 1) * block));
                boxes[static_cast<std::size_t>(b)] = bounding_box<Dim>(y.data, begin, end);
            }
        },
        1);
    Box<Dim> box;
    for (const auto& b : boxes) box.add(b);
    return box;
}

// The root cell: a cube centred on the box, its half-width (returned) slightly more than half the box's
// longest side so that the maximum lies strictly inside the grid; `corner` receives its lowest corner.
template <int Dim>
double root_cube(const Box<Dim>& box, std::array<double, Dim>& corner) {
    for (int d = 0; d < Dim; ++d)
        if (!std::isfinite(box.lo[d]) || !std::isfinite(box.hi[d]))
            throw NumericalError(
                "the embedding has non-finite coordinates (the optimisation diverged; "
                "try a smaller learning rate or --max-step-norm)");
    double half = box.half_side();
    if (!(half > 0)) half = 1.0;  // all points identical: any cube will do
    half *= 1.0 + 1e-9;           // keep the maximum strictly inside the grid
    for (int d = 0; d < Dim; ++d) corner[d] = 0.5 * (box.lo[d] + box.hi[d]) - half;
    return half;
}

}  // namespace

template <int Dim>
void SpaceTree<Dim>::set_leaf_capacity(int capacity) {
    require(capacity >= 1, "SpaceTree: leaf capacity must be >= 1; got ", capacity);
    leaf_capacity_ = capacity;
}

template <int Dim>
void SpaceTree<Dim>::build(ConstMatrixView y, int threads, MatrixView borrowed) {
    // A build that throws leaves an empty tree of 0 points, never a stale one of another size.
    nodes_.clear();
    leaves_.clear();
    n_ = 0;
    repelled_ = false;
    require(y.cols == Dim, "SpaceTree<", Dim, "> needs a ", Dim, "-column embedding; got ", y.cols);
    require(y.rows >= 1 && y.rows < static_cast<index_t>(std::numeric_limits<std::uint32_t>::max()),
            "SpaceTree: unsupported number of points ", y.rows);
    require(!overlap(y, borrowed), "SpaceTree: the borrowed buffer overlaps the embedding");
    std::array<double, Dim> corner;
    const double half = root_cube<Dim>(parallel_bounding_box<Dim>(y, threads), corner);
    n_ = y.rows;
    sort_by_morton(y, corner, half, threads, borrowed);
    gather_positions(y, threads);
    build_nodes(half, threads);
    for (std::size_t i = 0; i < nodes_.size(); ++i)
        if (nodes_[i].leaf) leaves_.push_back(static_cast<std::uint32_t>(i));
}

// The nodes in pre-order. The top of the tree is split serially into subtrees of at most ~n/64 points
// (at least 4096); those are built in parallel, each into its own vector, by the same recursion
// (build_node), then spliced in pre-order under the top nodes, whose centres and moments are combined
// from their children last. Every node is computed by the same arithmetic as in a serial build, so the
// tree is the same bit for bit for any thread count.
template <int Dim>
void SpaceTree<Dim>::build_nodes(double half, int threads) {
    const auto n = static_cast<std::uint32_t>(n_);
    const std::uint32_t cutoff = std::max<std::uint32_t>(4096, n / 64);
    top_.clear();
    subtrees_.clear();
    plan_node(0, n, 0, half, cutoff);
    parallel_for(
        static_cast<index_t>(subtrees_.size()), threads,
        [&](index_t first, index_t last) {
            for (index_t t = first; t < last; ++t) {
                Subtree& sub = subtrees_[static_cast<std::size_t>(t)];
                sub.nodes.clear();
                build_node(sub.nodes, sub.begin, sub.end, sub.level, sub.half);
            }
        },
        1);
    std::size_t total = 0;
    for (const auto& item : top_)
        total += item.subtree >= 0 ? subtrees_[std::size_t(item.subtree)].nodes.size() : 1;
    if (total >= std::numeric_limits<std::uint32_t>::max())
        throw Error("SpaceTree: more than 2^32 - 1 tree nodes; the embedding has too many points");
    nodes_.reserve(total);
    splice(0);
}

// Appends the top-level plan of the node over [begin, end): a subtree to build in parallel when it is
// small, a leaf, or all in one cell of the finest grid (regrid() decides there); otherwise a top node
// followed by the plans of its children, found as in build_children().
template <int Dim>
void SpaceTree<Dim>::plan_node(std::uint32_t begin, std::uint32_t end, int level, double half,
                               std::uint32_t cutoff) {
    const std::size_t self = top_.size();
    top_.push_back(TopItem{begin, end, level, half, -1, 0});
    if (end - begin <= cutoff || end - begin <= static_cast<std::uint32_t>(leaf_capacity_) ||
        codes_[begin] == codes_[end - 1]) {
        top_[self].subtree = static_cast<int>(subtrees_.size());
        subtrees_.push_back(Subtree{begin, end, level, half, {}});
        top_[self].next = top_.size();
        return;
    }
    const int shift = (kBits - 1 - level) * Dim;
    const std::uint64_t digit_mask = (std::uint64_t{1} << Dim) - 1;
    for (std::uint32_t child_begin = begin; child_begin < end;) {
        const std::uint32_t child_end = digit_run_end(child_begin, end, shift, digit_mask);
        plan_node(child_begin, child_end, level + 1, 0.5 * half, cutoff);
        child_begin = child_end;
    }
    top_[self].next = top_.size();
}

// Emits top_[at] and what it covers into nodes_ in pre-order; returns the index of the next top item
// after it.
template <int Dim>
std::size_t SpaceTree<Dim>::splice(std::size_t at) {
    const TopItem item = top_[at];
    if (item.subtree >= 0) {
        const auto& sub = subtrees_[static_cast<std::size_t>(item.subtree)].nodes;
        const auto offset = static_cast<std::uint32_t>(nodes_.size());
        for (Node node : sub) {
            node.skip += offset;
            nodes_.push_back(node);
        }
        return at + 1;
    }
    const std::size_t self = nodes_.size();
    nodes_.push_back(Node{});
    std::array<std::size_t, (1 << Dim)> children{};
    int child_count = 0;
    for (std::size_t next = at + 1; next < item.next;) {
        children[static_cast<std::size_t>(child_count++)] = nodes_.size();
        next = splice(next);
    }
    std::array<double, Dim> com{};
    Moments mom{};
    combine_children(nodes_, children.data(), child_count, item.begin, item.end, com, mom);
    finish_node(nodes_[self], item.begin, item.end, false, false, item.half, com, mom,
                static_cast<std::uint32_t>(nodes_.size()));
    return item.next;
}

// Morton codes of y's rows in the 2^kBits grid of the root cube (lowest corner `corner`, half-width
// `half`), then codes_ and order_ sorted by code.
template <int Dim>
void SpaceTree<Dim>::sort_by_morton(ConstMatrixView y, const std::array<double, Dim>& corner, double half,
                                    int threads, MatrixView borrowed) {
    const auto n = static_cast<std::size_t>(n_);
    codes_.resize(n);
    order_.resize(n);
    const double scale = static_cast<double>(1u << kBits) / (2.0 * half);
    parallel_for(n_, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i) {
            codes_[static_cast<std::size_t>(i)] = morton_code<Dim>(y.row(i), corner, scale);
            order_[static_cast<std::size_t>(i)] = static_cast<point_t>(i);
        }
    });
    radix_sort(threads, borrowed);
}

// (codes_, order_) sorted by code, stably (src/core/radix_sort.hpp): equal codes keep increasing index order,
// so the tree order is a pure function of the embedding, whatever the thread count.
template <int Dim>
void SpaceTree<Dim>::radix_sort(int threads, MatrixView borrowed) {
    detail::sort_by_key(codes_, order_, kBits * Dim, threads, scratch_codes_, scratch_order_, radix_counts_,
                        reinterpret_cast<unsigned char*>(borrowed.data),
                        static_cast<std::size_t>(std::max<index_t>(borrowed.size(), 0)) * sizeof(double));
}

// positions_ = y's rows in tree order.
template <int Dim>
void SpaceTree<Dim>::gather_positions(ConstMatrixView y, int threads) {
    positions_.resize(static_cast<std::size_t>(n_) * Dim);
    parallel_for(n_, threads, [&](index_t begin, index_t end) {
        for (index_t s = begin; s < end; ++s)
            for (int d = 0; d < Dim; ++d) positions_[s * Dim + d] = y(order_[s], d);
    });
}

// Points [begin, end) lie in one cell of the finest grid. Unless they all coincide, re-encodes them in a
// 2^kBits grid over their own bounding box, re-sorts the range by the new codes (ties in the previous
// order, so the tree stays a pure function of the embedding), sets `half` to the new cube's half-width
// and returns true. Every regrid separates at least two points, so the recursion ends.
template <int Dim>
bool SpaceTree<Dim>::regrid(std::uint32_t begin, std::uint32_t end, double& half) {
    const Box<Dim> box = bounding_box<Dim>(positions_.data(), begin, end);
    double sub_half = box.half_side();
    sub_half *= 1.0 + 1e-9;
    const double scale = static_cast<double>(1u << kBits) / (2.0 * sub_half);
    if (!(sub_half > 0) || !std::isfinite(scale)) return false;  // coincident (or subnormal spacing)
    std::array<double, Dim> corner;
    for (int d = 0; d < Dim; ++d) corner[d] = 0.5 * (box.lo[d] + box.hi[d]) - sub_half;

    const std::uint32_t m = end - begin;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> keyed(m);  // (new code, position in range)
    for (std::uint32_t r = 0; r < m; ++r)
        keyed[r] = {morton_code<Dim>(&positions_[std::size_t{begin + r} * Dim], corner, scale), r};
    std::sort(keyed.begin(), keyed.end());
    if (keyed.front().first == keyed.back().first) return false;
    std::vector<double> pos(std::size_t{m} * Dim);
    std::vector<point_t> order(m);
    for (std::uint32_t r = 0; r < m; ++r) {
        const std::uint32_t from = begin + keyed[r].second;
        for (int d = 0; d < Dim; ++d) pos[std::size_t{r} * Dim + d] = positions_[std::size_t{from} * Dim + d];
        order[r] = order_[from];
    }
    for (std::uint32_t r = 0; r < m; ++r) {
        codes_[begin + r] = keyed[r].first;
        order_[begin + r] = order[r];
    }
    std::copy(pos.begin(), pos.end(),
              positions_.begin() + static_cast<std::ptrdiff_t>(std::size_t{begin} * Dim));
    half = sub_half;
    return true;
}

// Appends the node covering tree-order points [begin, end) at `level` (cell half-width `half`) to out and,
// recursively, its children in Morton order; fixes the node's skip index (an index into out) once its
// subtree is complete.
template <int Dim>
void SpaceTree<Dim>::build_node(std::vector<Node>& out, std::uint32_t begin, std::uint32_t end, int level,
                                double half) {
    assert(begin < end && end <= order_.size());
    const std::size_t self = out.size();
    // Node indices are 32-bit; a tree can have more nodes than points (chains above clustered points).
    if (self >= std::numeric_limits<std::uint32_t>::max())
        throw Error("SpaceTree: more than 2^32 - 1 tree nodes; the embedding has too many points");
    out.push_back(Node{});
    bool leaf = end - begin <= static_cast<std::uint32_t>(leaf_capacity_);
    if (!leaf && codes_[begin] == codes_[end - 1]) {
        // All in one cell of the finest grid: coincident points make a leaf; points closer than the grid
        // resolves (a tight cluster far from outliers) get a grid of their own and split further.
        if (regrid(begin, end, half)) {
            level = 0;
        } else {
            leaf = true;
        }
    }
    std::array<double, Dim> com{};
    Moments mom{};  // unnormalised: sum (y - com)(y - com)^T
    bool coincident = false;
    if (leaf) {
        coincident = sum_leaf(begin, end, com, mom);
    } else {
        build_children(out, begin, end, level, half, com, mom);
    }
    finish_node(out[self], begin, end, leaf, coincident, half, com, mom,
                static_cast<std::uint32_t>(out.size()));  // out may have reallocated: index again
}

// Fills a node's fields; mom is unnormalised (divided by the count here).
template <int Dim>
void SpaceTree<Dim>::finish_node(Node& me, std::uint32_t begin, std::uint32_t end, bool leaf, bool coincident,
                                 double half, const std::array<double, Dim>& com, const Moments& mom,
                                 std::uint32_t skip) {
    me.begin = begin;
    me.end = end;
    me.leaf = leaf;
    me.coincident = coincident;
    me.half_width = half;
    me.center_of_mass = com;
    const double count = static_cast<double>(end - begin);
    for (std::size_t m = 0; m < mom.size(); ++m) me.moments[m] = mom[m] / count;
    me.skip = skip;
}

// End of the run of codes from `begin` that share the Dim-bit digit at `shift` with codes_[begin]:
// codes are sorted, so each child's run is contiguous and found by binary search.
template <int Dim>
std::uint32_t SpaceTree<Dim>::digit_run_end(std::uint32_t begin, std::uint32_t end, int shift,
                                            std::uint64_t digit_mask) const {
    const std::uint64_t digit = (codes_[begin] >> shift) & digit_mask;
    return static_cast<std::uint32_t>(
        std::partition_point(codes_.begin() + begin, codes_.begin() + end,
                             [&](std::uint64_t c) { return ((c >> shift) & digit_mask) == digit; }) -
        codes_.begin());
}

// Centre of mass (into com) and unnormalised second moments (into mom) of the leaf points
// [begin, end). Returns whether they all coincide: then com is their common position, exactly, and the
// moments stay zero.
template <int Dim>
bool SpaceTree<Dim>::sum_leaf(std::uint32_t begin, std::uint32_t end, std::array<double, Dim>& com,
                              Moments& mom) const {
    const double* first = &positions_[std::size_t{begin} * Dim];
    bool coincident = end - begin >= 2;
    for (std::uint32_t s = begin + 1; s < end && coincident; ++s)
        for (int d = 0; d < Dim; ++d)
            coincident = coincident && positions_[std::size_t{s} * Dim + d] == first[d];
    if (coincident) {
        for (int d = 0; d < Dim; ++d) com[d] = first[d];
        return true;
    }
    // Sums in local arrays (registers), stored once at the end: accumulating through the references
    // changes GCC's code, and the last bit of some 1-D moments with it.
    const double count = static_cast<double>(end - begin);
    std::array<double, Dim> c{};
    Moments sum{};
    for (std::uint32_t s = begin; s < end; ++s)
        for (int d = 0; d < Dim; ++d) c[d] += positions_[std::size_t{s} * Dim + d];
    for (int d = 0; d < Dim; ++d) c[d] /= count;
    for (std::uint32_t s = begin; s < end; ++s) {
        const double* y = &positions_[std::size_t{s} * Dim];
        for (int a = 0, m = 0; a < Dim; ++a)
            for (int b = a; b < Dim; ++b, ++m) sum[m] += (y[a] - c[a]) * (y[b] - c[b]);
    }
    com = c;
    mom = sum;
    return false;
}

// Builds the children of the node over [begin, end) at `level` into out, then combines their centres of
// mass and moments into com and the unnormalised mom.
template <int Dim>
void SpaceTree<Dim>::build_children(std::vector<Node>& out, std::uint32_t begin, std::uint32_t end, int level,
                                    double half, std::array<double, Dim>& com, Moments& mom) {
    const int shift = (kBits - 1 - level) * Dim;
    const std::uint64_t digit_mask = (std::uint64_t{1} << Dim) - 1;
    std::array<std::size_t, (1 << Dim)> children{};
    int child_count = 0;
    for (std::uint32_t child_begin = begin; child_begin < end;) {
        const std::uint32_t child_end = digit_run_end(child_begin, end, shift, digit_mask);
        assert(child_count < (1 << Dim));
        children[static_cast<std::size_t>(child_count++)] = out.size();
        build_node(out, child_begin, child_end, level + 1, 0.5 * half);
        child_begin = child_end;
    }
    combine_children(out, children.data(), child_count, begin, end, com, mom);
}

// Centre of mass and unnormalised moments of the node over [begin, end) from those of its children
// (indices into nodes).
template <int Dim>
void SpaceTree<Dim>::combine_children(const std::vector<Node>& nodes, const std::size_t* children,
                                      int child_count, std::uint32_t begin, std::uint32_t end,
                                      std::array<double, Dim>& com, Moments& mom) {
    const double count = static_cast<double>(end - begin);
    std::array<double, Dim> centre{};  // local sums, as in sum_leaf
    Moments sum{};
    for (int c = 0; c < child_count; ++c) {
        const Node& child = nodes[children[c]];
        const double w = static_cast<double>(child.end - child.begin);
        for (int d = 0; d < Dim; ++d) centre[d] += w * child.center_of_mass[d];
    }
    for (int d = 0; d < Dim; ++d) centre[d] /= count;
    // Parallel-axis theorem: sum_c n_c (M_c + (com_c - com)(com_c - com)^T).
    for (int c = 0; c < child_count; ++c) {
        const Node& child = nodes[children[c]];
        const double w = static_cast<double>(child.end - child.begin);
        for (int a = 0, m = 0; a < Dim; ++a)
            for (int b = a; b < Dim; ++b, ++m)
                sum[m] += w * (child.moments[m] +
                               (child.center_of_mass[a] - centre[a]) * (child.center_of_mass[b] - centre[b]));
    }
    com = centre;
    mom = sum;
}

double space_tree_bytes(double n, double dims, bool sort_borrowed) {
    const double node = 8 + 8 * dims + 4 * dims * (dims + 1) + 16;
    return n * (4 + 8 + (sort_borrowed ? 0 : 8 + 4) + 8 + 8 * dims) + 2 * n / 8 * node;
}

template class SpaceTree<1>;
template class SpaceTree<2>;
template class SpaceTree<3>;

}  // namespace treesne

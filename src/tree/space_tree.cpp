// Flat Morton-ordered 2^Dim-tree for Barnes-Hut repulsion. See space_tree.hpp for the layout.
#include "treesne/tree/space_tree.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <type_traits>

#include "core/lanes.hpp"
#include "core/radix_sort.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne {
namespace {

// Grid resolution per axis: the tree depth cap. 21 bits per axis keeps 3-D codes within 63 bits; a
// cell at the deepest level is 2^-21 of the embedding's extent, far below any useful resolution.
constexpr int kBits = 21;

// The low kBits bits of x moved to bits 0, Dim, 2 Dim, ... (zeros between): five shift-and-mask steps
// instead of a loop over the bits (the loop was 40 % of a 70,000-point tree build).
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

// Axis-aligned bounding box; empty (lo = +inf, hi = -inf) until something is added.
template <int Dim>
struct Box {
    std::array<double, Dim> lo, hi;

    Box() {
        lo.fill(std::numeric_limits<double>::infinity());
        hi.fill(-std::numeric_limits<double>::infinity());
    }
    void add(const double* y) {
        for (int d = 0; d < Dim; ++d) {
            lo[d] = std::min(lo[d], y[d]);
            hi[d] = std::max(hi[d], y[d]);
        }
    }
    void add(const Box& other) {
        for (int d = 0; d < Dim; ++d) {
            lo[d] = std::min(lo[d], other.lo[d]);
            hi[d] = std::max(hi[d], other.hi[d]);
        }
    }
    // Half the longest side (0 for a single point).
    double half_side() const {
        double half = 0.0;
        for (int d = 0; d < Dim; ++d) half = std::max(half, 0.5 * (hi[d] - lo[d]));
        return half;
    }
};

// Bounding box of rows [begin, end) of a row-major array with Dim columns.
template <int Dim>
inline Box<Dim> bounding_box(const double* rows, std::size_t begin, std::size_t end) {
    Box<Dim> box;
    for (std::size_t s = begin; s < end; ++s) box.add(rows + s * Dim);
    return box;
}

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
void SpaceTree<Dim>::build(ConstMatrixView y, int threads) {
    // A build that throws leaves an empty tree of 0 points, never a stale one of another size.
    nodes_.clear();
    leaves_.clear();
    n_ = 0;
    repelled_ = false;
    require(y.cols == Dim, "SpaceTree<", Dim, "> needs a ", Dim, "-column embedding; got ", y.cols);
    require(y.rows >= 1 && y.rows < static_cast<index_t>(std::numeric_limits<std::uint32_t>::max()),
            "SpaceTree: unsupported number of points ", y.rows);
    std::array<double, Dim> corner;
    const double half = root_cube<Dim>(parallel_bounding_box<Dim>(y, threads), corner);
    n_ = y.rows;
    sort_by_morton(y, corner, half, threads);
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
                                    int threads) {
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
    radix_sort(threads);
}

// (codes_, order_) sorted by code, stably (src/core/radix_sort.hpp): equal codes keep increasing index order,
// so the tree order is a pure function of the embedding, whatever the thread count.
template <int Dim>
void SpaceTree<Dim>::radix_sort(int threads) {
    detail::sort_by_key(codes_, order_, kBits * Dim, threads, scratch_codes_, scratch_order_, radix_counts_);
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

namespace {

using detail::kLanes;
using detail::Lanes;

template <int Dim>
using TreeNode = typename SpaceTree<Dim>::Node;

// The interaction kernels run in Real: double, or float with twice the lanes per vector. Vec<Real> is
// one vector of kWidth<Real> lanes (the same 64 bytes either way); sums are always kept in double lanes.
template <class Real>
struct VecOf;
template <>
struct VecOf<double> {
    using type = Lanes;
};
template <>
struct VecOf<float> {
    using type = detail::FloatLanes;
};
template <class Real>
using Vec = typename VecOf<Real>::type;
template <class Real>
constexpr std::size_t kWidth = sizeof(Vec<Real>) / sizeof(Real);

template <class Real>
[[gnu::always_inline]] inline Vec<Real> load_vec(const Real* at) {
    Vec<Real> v;
    __builtin_memcpy(&v, at, sizeof v);
    return v;
}

template <class Real>
[[gnu::always_inline]] inline Vec<Real> splat(Real x) {
    return Vec<Real>{} + x;
}

// acc += v: double lanes directly; float lanes widened, low half then high half.
[[gnu::always_inline]] inline void accumulate(Lanes& acc, const Lanes& v) {
    acc += v;
}
[[gnu::always_inline]] inline void accumulate(Lanes& acc, const detail::FloatLanes& v) {
    static_assert(kLanes == 8, "the shuffles below split 16 float lanes");
    using Half = float __attribute__((vector_size(kLanes * sizeof(float))));
    const Half lo = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
    const Half hi = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    acc += __builtin_convertvector(lo, Lanes);
    acc += __builtin_convertvector(hi, Lanes);
}

// Interaction lists of one leaf, structure-of-arrays so the per-point loops vectorise. Coordinates are
// stored relative to `origin`: the leaf's box centre in float, so that the near interactions (the
// largest terms) are differences of small numbers, rounded relative to the leaf's size and not to the
// embedding's; zero in double, where the differences are then exactly those of the input coordinates.
template <class Real, int Dim>
struct Interactions {
    static constexpr int M = Dim * (Dim + 1) / 2;
    std::array<double, Dim> origin{};
    std::array<std::vector<Real>, Dim> cell_pos;  // centres of mass of summarised cells
    std::vector<Real> cell_count;
    std::array<std::vector<Real>, M> cell_mom;     // second moments (quadrupole)
    std::array<std::vector<Real>, Dim> point_pos;  // points interacting directly
    std::vector<Real> point_weight;                // 1, or 0 for the padding

    // Empties the lists; their coordinates will be relative to the centre of `box` (float) or to 0.
    void clear(const Box<Dim>& box) {
        for (int d = 0; d < Dim; ++d)
            origin[d] = std::is_same_v<Real, float> ? 0.5 * (box.lo[d] + box.hi[d]) : 0.0;
        for (auto& v : cell_pos) v.clear();
        cell_count.clear();
        for (auto& v : cell_mom) v.clear();
        for (auto& v : point_pos) v.clear();
        point_weight.clear();
    }
    // A cell summarised by its centre of mass, as `count` points with the node's moments (zeros for the
    // monopole).
    void add_cell(const TreeNode<Dim>& node, double count, bool quadrupole) {
        for (int d = 0; d < Dim; ++d)
            cell_pos[d].push_back(static_cast<Real>(node.center_of_mass[d] - origin[d]));
        cell_count.push_back(static_cast<Real>(count));
        for (int m = 0; m < M; ++m) cell_mom[m].push_back(quadrupole ? static_cast<Real>(node.moments[m]) : Real{0});
    }
    // A leaf's points one by one (pos: coordinates in tree order), unless they coincide: then they are
    // one exact cell (for the leaf itself, of its other points, which all lie where every point of it
    // lies).
    void add_points(const TreeNode<Dim>& node, bool self, bool quadrupole, const double* pos) {
        if (node.coincident) {
            add_cell(node, static_cast<double>(node.end - node.begin) - (self ? 1.0 : 0.0), quadrupole);
            return;
        }
        for (std::uint32_t t = node.begin; t < node.end; ++t) {
            for (int d = 0; d < Dim; ++d)
                point_pos[d].push_back(static_cast<Real>(pos[std::size_t{t} * Dim + d] - origin[d]));
            point_weight.push_back(Real{1});
        }
    }
    // Pads both lists to a multiple of the vector width with zero-weight entries at the origin.
    void pad() {
        while (cell_count.size() % kWidth<Real>) {
            for (auto& v : cell_pos) v.push_back(Real{0});
            cell_count.push_back(Real{0});
            for (auto& v : cell_mom) v.push_back(Real{0});
        }
        while (point_weight.size() % kWidth<Real>) {
            for (auto& v : point_pos) v.push_back(Real{0});
            point_weight.push_back(Real{0});
        }
    }
};

// The output kernel (Kobak et al. 2019): w = (1 + d^2/alpha)^-alpha, the repulsion's weight
// w^(1 + 1/alpha) = w u with u = w^(1/alpha) = (1 + d^2/alpha)^-1. Cauchy is alpha = 1, t-SNE's
// w = u = (1 + d^2)^-1, evaluated as it always was (no transcendental function, the same bits);
// general is any other alpha, with w = exp(-alpha log1p(d^2/alpha)) in vector lanes.
enum class Kernel { cauchy, general };

// What the general kernel's sums need besides the coordinates: alpha, 1/alpha and the coefficients of
// its second-order Taylor terms (see sum_cells). The defaults are alpha = 1's.
struct KernelConstants {
    double alpha = 1, inv_alpha = 1;
    double a1 = 2;   // (alpha + 1) / alpha
    double b2 = 12;  // 2 (alpha + 1)(alpha + 2) / alpha^2

    static KernelConstants of(double alpha) {
        return {alpha, 1.0 / alpha, (alpha + 1.0) / alpha,
                2.0 * (alpha + 1.0) * (alpha + 2.0) / (alpha * alpha)};
    }
};

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

// exp(t) of each lane, for t <= 0 (0 below -708, where exp(t) leaves the normal doubles). Written out,
// as std::exp does not vectorise without -ffast-math: t = k ln 2 + r with k = round(t / ln 2) (by the
// 1.5 * 2^52 shifter) and |r| <= ln 2 / 2, exp(r) by its Taylor series to r^13 / 13! (the next term is
// below 4e-18), times 2^k made in the exponent bits. A fixed function of t: the same on every thread.
[[gnu::always_inline]] inline Lanes exp_nonpositive_lanes(const Lanes& t) {
    using Bits = std::int64_t __attribute__((vector_size(kLanes * sizeof(double))));
    constexpr double log2e = 1.4426950408889634074;
    constexpr double shifter = 0x1.8p52;
    constexpr double ln2_high = 0.693147180369123816490;    // 2^-32 precision: k ln2_high is exact
    constexpr double ln2_low = 1.90821492927058770002e-10;  // ln 2 - ln2_high
    const Lanes k = (t * log2e + shifter) - shifter;
    const Lanes r = (t - k * ln2_high) - k * ln2_low;
    Lanes e = detail::broadcast(1.0 / 6227020800.0);  // 1 / 13!
    e = e * r + 1.0 / 479001600.0;
    e = e * r + 1.0 / 39916800.0;
    e = e * r + 1.0 / 3628800.0;
    e = e * r + 1.0 / 362880.0;
    e = e * r + 1.0 / 40320.0;
    e = e * r + 1.0 / 5040.0;
    e = e * r + 1.0 / 720.0;
    e = e * r + 1.0 / 120.0;
    e = e * r + 1.0 / 24.0;
    e = e * r + 1.0 / 6.0;
    e = e * r + 0.5;
    e = e * r + 1.0;
    e = e * r + 1.0;
    const Bits exponent = (__builtin_convertvector(k, Bits) + 1023) << 52;
    Lanes scale;
    __builtin_memcpy(&scale, &exponent, sizeof scale);
    const Lanes result = e * scale;
    return t < -708.0 ? Lanes{} : result;
}

// The general kernel's w = (1 + x)^-alpha = exp(-alpha log1p(x)) and u = (1 + x)^-1 with x = d^2 / alpha.
// log1p(x) = log(y) - ((y - 1) - x) / y with y = 1 + x rounded (Goldberg's correction of the rounding
// of y): log(y) alone would make w's relative error alpha times the rounding of y, 1e-10 at alpha = 1e6.
// At d = 0, w and u are exactly 1.
[[gnu::always_inline]] inline void general_weights(const Lanes& dist2, const KernelConstants& k, Lanes& w,
                                                   Lanes& u) {
    const Lanes x = dist2 * k.inv_alpha;
    const Lanes y = 1.0 + x;
    u = 1.0 / y;
    const Lanes log1p = detail::log_normal_lanes(y) - ((y - 1.0) - x) * u;
    w = exp_nonpositive_lanes(-k.alpha * log1p);
}

// The same for float lanes: the logarithm and exponential in double, two halves of 8 lanes; u in float.
[[gnu::always_inline]] inline void general_weights(const detail::FloatLanes& dist2, const KernelConstants& k,
                                                   detail::FloatLanes& w, detail::FloatLanes& u) {
    static_assert(kLanes == 8, "the shuffles below split 16 float lanes");
    using Half = float __attribute__((vector_size(kLanes * sizeof(float))));
    const Half lo = __builtin_shufflevector(dist2, dist2, 0, 1, 2, 3, 4, 5, 6, 7);
    const Half hi = __builtin_shufflevector(dist2, dist2, 8, 9, 10, 11, 12, 13, 14, 15);
    Lanes w_lo, w_hi, u_lo, u_hi;
    general_weights(__builtin_convertvector(lo, Lanes), k, w_lo, u_lo);
    general_weights(__builtin_convertvector(hi, Lanes), k, w_hi, u_hi);
    const Half wl = __builtin_convertvector(w_lo, Half), wh = __builtin_convertvector(w_hi, Half);
    const Half ul = __builtin_convertvector(u_lo, Half), uh = __builtin_convertvector(u_hi, Half);
    w = __builtin_shufflevector(wl, wh, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    u = __builtin_shufflevector(ul, uh, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}

// Adds the summarised cells' Z and force on the point at p into the lane sums zl, fl: the monopole plus
// the second-order Taylor terms about the centre of mass, averaged with the cell's second moments C
// (d = p - com). For a function f(s) of s = |p - y|^2, y = com + e with E[e] = 0 and E[e e'] = C:
//   E[f(s)]             ~ f + f' tr C + 2 f'' d'Cd
//   E[g(s) (p - y)]     ~ g d + (g' tr C + 2 g'' d'Cd) d + 2 g' C d
// (f', f'' the derivatives in s). The kernel w = f(s) = (1 + s/a)^-a and the repulsion's weight
// g(s) = w^(1+1/a) = w u, u = (1 + s/a)^-1, have f' = -w u, f'' = ((a+1)/a) w u^2, g' = -((a+1)/a) w u^2,
// g'' = ((a+1)(a+2)/a^2) w u^3, so with a1 = (a+1)/a and b2 = 2 (a+1)(a+2)/a^2:
//   E[w]       ~ w - w u tr C + 2 a1 w u^2 d'Cd
//   E[w u d]   ~ w u d + (-a1 w u^2 tr C + b2 w u^3 d'Cd) d - 2 a1 w u^2 C d
// which at a = 1 (w = u = q, a1 = 2, b2 = 12) is
//   E[q]       ~ q - q^2 tr C + 4 q^3 d'Cd
//   E[q^2 d]   ~ q^2 d + (-2 q^3 tr C + 12 q^4 d'Cd) d - 4 q^3 C d
template <class Real, int Dim, Kernel K>
[[gnu::always_inline]] inline void sum_cells(const std::array<Real, Dim>& p,
                                             const Interactions<Real, Dim>& list, const KernelConstants& kc,
                                             Lanes& zl, Lanes (&fl)[Dim]) {
    using V = Vec<Real>;
    const std::size_t cells = list.cell_count.size();
    V pv[Dim];
    for (int d = 0; d < Dim; ++d) pv[d] = splat<Real>(p[d]);
    V za = {};
    V fa[Dim] = {};
    [[maybe_unused]] const Real a1 = static_cast<Real>(kc.a1), two_a1 = static_cast<Real>(2.0 * kc.a1),
                                b2 = static_cast<Real>(kc.b2);
    for (std::size_t c = 0; c < cells; c += kWidth<Real>) {
        V diff[Dim];
        V dist2 = {};
        for (int d = 0; d < Dim; ++d) {
            diff[d] = pv[d] - load_vec(&list.cell_pos[d][c]);
            dist2 += diff[d] * diff[d];
        }
        V q;
        [[maybe_unused]] V u;
        if constexpr (K == Kernel::cauchy) {
            q = Real{1} / (Real{1} + dist2);
        } else {
            general_weights(dist2, kc, q, u);
        }
        // tr C, d'Cd and Cd from the upper triangle of C.
        V trace = {}, dcd = {};
        V cd[Dim] = {};
        for (int a = 0, m = 0; a < Dim; ++a)
            for (int b = a; b < Dim; ++b, ++m) {
                const V mom = load_vec(&list.cell_mom[m][c]);
                if (a == b) {
                    trace += mom;
                    cd[a] += mom * diff[a];
                    dcd += mom * diff[a] * diff[a];
                } else {
                    cd[a] += mom * diff[b];
                    cd[b] += mom * diff[a];
                    dcd += Real{2} * mom * diff[a] * diff[b];
                }
            }
        const V count = load_vec(&list.cell_count[c]);
        if constexpr (K == Kernel::cauchy) {
            const V q2 = q * q, q3 = q2 * q;
            za += count * (q - q2 * trace + Real{4} * q3 * dcd);
            const V fq = count * (q2 - Real{2} * q3 * trace + Real{12} * q3 * q * dcd);
            const V c4 = count * Real{4} * q3;
            for (int d = 0; d < Dim; ++d) fa[d] += fq * diff[d] - c4 * cd[d];
        } else {
            const V wu = q * u, wu2 = wu * u;
            za += count * (q - wu * trace + two_a1 * wu2 * dcd);
            const V fq = count * (wu - a1 * wu2 * trace + b2 * wu2 * u * dcd);
            const V cc = count * two_a1 * wu2;
            for (int d = 0; d < Dim; ++d) fa[d] += fq * diff[d] - cc * cd[d];
        }
    }
    accumulate(zl, za);
    for (int d = 0; d < Dim; ++d) accumulate(fl[d], fa[d]);
}

// Adds the direct interactions' Z and force on the point at p into the lane sums zl, fl (point_weight
// zeroes the padding). The list holds the point itself when it is not in a coincident leaf: its
// difference is exactly zero (the same double, rounded the same way), so it adds exactly 1 to Z and
// exactly 0 to the force (w = u = 1 at d = 0 for every kernel), and the caller takes the 1 off.
template <class Real, int Dim, Kernel K>
[[gnu::always_inline]] inline void sum_points(const std::array<Real, Dim>& p,
                                              const Interactions<Real, Dim>& list, const KernelConstants& kc,
                                              Lanes& zl, Lanes (&fl)[Dim]) {
    using V = Vec<Real>;
    const std::size_t points = list.point_weight.size();
    V pv[Dim];
    for (int d = 0; d < Dim; ++d) pv[d] = splat<Real>(p[d]);
    V za = {};
    V fa[Dim] = {};
    for (std::size_t t = 0; t < points; t += kWidth<Real>) {
        V diff[Dim];
        V dist2 = {};
        for (int d = 0; d < Dim; ++d) {
            diff[d] = pv[d] - load_vec(&list.point_pos[d][t]);
            dist2 += diff[d] * diff[d];
        }
        if constexpr (K == Kernel::cauchy) {
            const V q = load_vec(&list.point_weight[t]) / (Real{1} + dist2);
            za += q;
            const V q2 = q * q;
            for (int d = 0; d < Dim; ++d) fa[d] += q2 * diff[d];
        } else {
            V w, u;
            general_weights(dist2, kc, w, u);
            w *= load_vec(&list.point_weight[t]);
            za += w;
            const V wu = w * u;
            for (int d = 0; d < Dim; ++d) fa[d] += wu * diff[d];
        }
    }
    accumulate(zl, za);
    for (int d = 0; d < Dim; ++d) accumulate(fl[d], fa[d]);
}

// Z (returned) and force f on the point at y (Dim coordinates) from a group's lists: kLanes partial sums
// each, added lane by lane.
template <class Real, int Dim, Kernel K>
[[gnu::always_inline]] inline double interact(const double* y, const Interactions<Real, Dim>& list,
                                              const KernelConstants& kc, std::array<double, Dim>& f_out) {
    std::array<Real, Dim> p;
    for (int d = 0; d < Dim; ++d) p[d] = static_cast<Real>(y[d] - list.origin[d]);
    Lanes zl = {};
    Lanes fl[Dim] = {};
    sum_cells<Real, Dim, K>(p, list, kc, zl, fl);
    sum_points<Real, Dim, K>(p, list, kc, zl, fl);
    double z = 0.0;
    std::array<double, Dim> f{};
    for (int l = 0; l < kLanes; ++l) {
        z += zl[l];
        for (int d = 0; d < Dim; ++d) f[d] += fl[d][l];
    }
    f_out = f;
    return z;
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
    with_kernel(dof_, [&](auto kernel) {
        constexpr Kernel K = decltype(kernel)::value;
        if (single_precision_ && theta >= single_precision_min_theta) {
            walk_query_leaves<float, K>(walk, groups, threads);
        } else {
            walk_query_leaves<double, K>(walk, groups, threads);
        }
    });
}

template <int Dim>
void SpaceTree<Dim>::point_z(std::vector<double>& z) const {
    require(repelled_, "SpaceTree::point_z: call repulsion() after build() first");
    z.resize(static_cast<std::size_t>(n_));
    for (std::size_t s = 0; s < z.size(); ++s) z[order_[s]] = point_z_[s];
}

template <int Dim>
double SpaceTree<Dim>::repulsion(double theta, MatrixView forces, int threads) {
    require(forces.rows == n_ && forces.cols == Dim, "SpaceTree::repulsion: the force buffer is ",
            forces.rows, " x ", forces.cols, "; expected ", n_, " x ", Dim);
    assert(!nodes_.empty() && "SpaceTree::repulsion: build() the tree first");
    point_z_.resize(static_cast<std::size_t>(n_));
    const Walk<Dim> walk{nodes_.data(),
                         static_cast<std::uint32_t>(nodes_.size()),
                         positions_.data(),
                         order_.data(),
                         theta * theta,
                         quadrupole_,
                         point_z_.data(),
                         forces,
                         KernelConstants::of(dof_)};
    with_kernel(dof_, [&](auto kernel) {
        constexpr Kernel K = decltype(kernel)::value;
        if (single_precision_ && theta >= single_precision_min_theta) {
            walk_leaves<float, K>(walk, leaves_, threads);
        } else {
            walk_leaves<double, K>(walk, leaves_, threads);
        }
    });
    repelled_ = true;
    return parallel_sum(n_, threads, [&](index_t begin, index_t end) {
        double total = 0.0;
        for (index_t s = begin; s < end; ++s) total += point_z_[static_cast<std::size_t>(s)];
        return total;
    });
}

template class SpaceTree<1>;
template class SpaceTree<2>;
template class SpaceTree<3>;

}  // namespace treesne

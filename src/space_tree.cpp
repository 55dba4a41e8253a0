// Flat Morton-ordered 2^Dim-tree for Barnes-Hut repulsion. See space_tree.hpp for the layout.
#include "treesne/space_tree.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "treesne/errors.hpp"
#include "treesne/parallel.hpp"

namespace treesne {
namespace {

// Grid resolution per axis: the tree depth cap. 21 bits per axis keeps 3-D codes within 63 bits; a
// cell at the deepest level is 2^-21 of the embedding's extent, far below any useful resolution.
constexpr int kBits = 21;
constexpr int kDigitBits = 11;  // radix-sort digit

// The Morton code of point y in the 2^kBits grid whose lowest corner is `corner`, with `scale` cells per
// unit length (points outside are clamped into the grid).
template <int Dim>
std::uint64_t morton_code(const double* y, const std::array<double, Dim>& corner, double scale) {
    constexpr std::uint32_t max_cell = (1u << kBits) - 1;
    std::array<std::uint32_t, Dim> cell;
    for (int d = 0; d < Dim; ++d) {
        const double t = (y[d] - corner[d]) * scale;
        cell[d] = std::min(max_cell, static_cast<std::uint32_t>(std::max(0.0, t)));
    }
    std::uint64_t code = 0;
    for (int b = kBits - 1; b >= 0; --b)
        for (int d = 0; d < Dim; ++d) code = (code << 1) | ((cell[d] >> b) & 1u);
    return code;
}

}  // namespace

template <int Dim>
void SpaceTree<Dim>::build(ConstMatrixView y, int threads) {
    require(y.cols == Dim, "SpaceTree<", Dim, "> needs a ", Dim, "-column embedding; got ", y.cols);
    n_ = y.rows;
    require(n_ >= 1 && n_ < static_cast<index_t>(std::numeric_limits<std::uint32_t>::max()),
            "SpaceTree: unsupported number of points ", n_);
    const auto n = static_cast<std::size_t>(n_);

    // Bounding box: per fixed block, then blocks in order (min/max are exact, so any order would do).
    constexpr index_t block = 8192;
    const index_t blocks = (n_ + block - 1) / block;
    std::vector<std::array<double, 2 * Dim>> boxes(static_cast<std::size_t>(blocks));
    parallel_for(blocks, threads, [&](index_t b0, index_t b1) {
        for (index_t b = b0; b < b1; ++b) {
            auto& box = boxes[static_cast<std::size_t>(b)];
            for (int d = 0; d < Dim; ++d) {
                box[d] = std::numeric_limits<double>::infinity();
                box[Dim + d] = -std::numeric_limits<double>::infinity();
            }
            for (index_t i = b * block; i < std::min(n_, (b + 1) * block); ++i)
                for (int d = 0; d < Dim; ++d) {
                    box[d] = std::min(box[d], y(i, d));
                    box[Dim + d] = std::max(box[Dim + d], y(i, d));
                }
        }
    }, 1);
    std::array<double, Dim> lo, hi;
    lo.fill(std::numeric_limits<double>::infinity());
    hi.fill(-std::numeric_limits<double>::infinity());
    for (const auto& box : boxes)
        for (int d = 0; d < Dim; ++d) {
            lo[d] = std::min(lo[d], box[d]);
            hi[d] = std::max(hi[d], box[Dim + d]);
        }
    double half = 0.0;
    for (int d = 0; d < Dim; ++d) {
        if (!std::isfinite(lo[d]) || !std::isfinite(hi[d]))
            throw NumericalError("the embedding has non-finite coordinates (the optimisation diverged; "
                                 "try a smaller learning rate or --max-step-norm)");
        half = std::max(half, 0.5 * (hi[d] - lo[d]));
    }
    if (!(half > 0)) half = 1.0;  // all points identical: any cube will do
    half *= 1.0 + 1e-9;           // keep the maximum strictly inside the grid
    std::array<double, Dim> corner;
    for (int d = 0; d < Dim; ++d) corner[d] = 0.5 * (lo[d] + hi[d]) - half;

    // Morton codes in input order, then an LSD radix sort of (code, index): stable, so equal codes keep
    // increasing index order and the tree order is a pure function of the embedding.
    codes_.resize(n);
    order_.resize(n);
    const double scale = static_cast<double>(1u << kBits) / (2.0 * half);
    parallel_for(n_, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i) {
            codes_[static_cast<std::size_t>(i)] = morton_code<Dim>(y.row(i), corner, scale);
            order_[static_cast<std::size_t>(i)] = static_cast<point_t>(i);
        }
    });
    scratch_codes_.resize(n);
    scratch_order_.resize(n);
    constexpr int total_bits = kBits * Dim;
    std::vector<std::uint32_t> counts(std::size_t{1} << kDigitBits);
    for (int shift = 0; shift < total_bits; shift += kDigitBits) {
        const std::uint64_t mask = (std::uint64_t{1} << kDigitBits) - 1;
        std::fill(counts.begin(), counts.end(), 0u);
        for (std::size_t i = 0; i < n; ++i) ++counts[(codes_[i] >> shift) & mask];
        if (counts[(codes_[0] >> shift) & mask] == n) continue;  // digit constant: pass changes nothing
        std::uint32_t sum = 0;
        for (auto& c : counts) {
            const std::uint32_t t = c;
            c = sum;
            sum += t;
        }
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint32_t at = counts[(codes_[i] >> shift) & mask]++;
            scratch_codes_[at] = codes_[i];
            scratch_order_[at] = order_[i];
        }
        codes_.swap(scratch_codes_);
        order_.swap(scratch_order_);
    }

    positions_.resize(n * Dim);
    parallel_for(n_, threads, [&](index_t begin, index_t end) {
        for (index_t s = begin; s < end; ++s)
            for (int d = 0; d < Dim; ++d) positions_[s * Dim + d] = y(order_[s], d);
    });

    nodes_.clear();
    build_node(0, static_cast<std::uint32_t>(n), 0, half);
    leaves_.clear();
    for (std::size_t i = 0; i < nodes_.size(); ++i)
        if (nodes_[i].leaf) leaves_.push_back(static_cast<std::uint32_t>(i));
}

// Points [begin, end) lie in one cell of the finest grid. Unless they all coincide, re-encodes them in a
// 2^kBits grid over their own bounding box, re-sorts the range by the new codes (ties in the previous
// order, so the tree stays a pure function of the embedding), sets `half` to the new cube's half-width
// and returns true. Every regrid separates at least two points, so the recursion ends.
template <int Dim>
bool SpaceTree<Dim>::regrid(std::uint32_t begin, std::uint32_t end, double& half) {
    std::array<double, Dim> lo, hi;
    lo.fill(std::numeric_limits<double>::infinity());
    hi.fill(-std::numeric_limits<double>::infinity());
    for (std::uint32_t s = begin; s < end; ++s)
        for (int d = 0; d < Dim; ++d) {
            lo[d] = std::min(lo[d], positions_[std::size_t{s} * Dim + d]);
            hi[d] = std::max(hi[d], positions_[std::size_t{s} * Dim + d]);
        }
    double sub_half = 0.0;
    for (int d = 0; d < Dim; ++d) sub_half = std::max(sub_half, 0.5 * (hi[d] - lo[d]));
    sub_half *= 1.0 + 1e-9;
    const double scale = static_cast<double>(1u << kBits) / (2.0 * sub_half);
    if (!(sub_half > 0) || !std::isfinite(scale)) return false;  // coincident (or subnormal spacing)
    std::array<double, Dim> corner;
    for (int d = 0; d < Dim; ++d) corner[d] = 0.5 * (lo[d] + hi[d]) - sub_half;

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

// Appends the node covering tree-order points [begin, end) at `level` (cell half-width `half`) and,
// recursively, its children in Morton order; fixes the node's skip index once its subtree is complete.
template <int Dim>
void SpaceTree<Dim>::build_node(std::uint32_t begin, std::uint32_t end, int level, double half) {
    constexpr int M = Dim * (Dim + 1) / 2;
    const std::size_t self = nodes_.size();
    // Node indices are 32-bit; a tree can have more nodes than points (chains above clustered points).
    if (self >= std::numeric_limits<std::uint32_t>::max())
        throw Error("SpaceTree: more than 2^32 - 1 tree nodes; the embedding has too many points");
    nodes_.push_back(Node{});
    bool leaf = end - begin <= static_cast<std::uint32_t>(leaf_capacity);
    if (!leaf && codes_[begin] == codes_[end - 1]) {
        // All in one cell of the finest grid: coincident points make a leaf; points closer than the grid
        // resolves (a tight cluster far from outliers) get a grid of their own and split further.
        if (regrid(begin, end, half)) {
            level = 0;
        } else {
            leaf = true;
        }
    }
    const double count = static_cast<double>(end - begin);
    std::array<double, Dim> com{};
    std::array<double, M> mom{};
    bool coincident = false;
    if (leaf) {
        const double* first = &positions_[std::size_t{begin} * Dim];
        coincident = end - begin >= 2;
        for (std::uint32_t s = begin + 1; s < end && coincident; ++s)
            for (int d = 0; d < Dim; ++d)
                coincident = coincident && positions_[std::size_t{s} * Dim + d] == first[d];
        if (coincident) {
            for (int d = 0; d < Dim; ++d) com[d] = first[d];  // exact; the moments stay zero
        } else {
            for (std::uint32_t s = begin; s < end; ++s)
                for (int d = 0; d < Dim; ++d) com[d] += positions_[std::size_t{s} * Dim + d];
            for (int d = 0; d < Dim; ++d) com[d] /= count;
            for (std::uint32_t s = begin; s < end; ++s) {
                const double* y = &positions_[std::size_t{s} * Dim];
                for (int a = 0, m = 0; a < Dim; ++a)
                    for (int b = a; b < Dim; ++b, ++m) mom[m] += (y[a] - com[a]) * (y[b] - com[b]);
            }
        }
    } else {
        // Children: runs of equal Dim-bit digits at this level. Codes are sorted, so each run is
        // contiguous; find each boundary by binary search on the digit.
        const int shift = (kBits - 1 - level) * Dim;
        const std::uint64_t digit_mask = (std::uint64_t{1} << Dim) - 1;
        std::array<std::size_t, (1 << Dim)> children{};
        int child_count = 0;
        std::uint32_t child_begin = begin;
        while (child_begin < end) {
            const std::uint64_t digit = (codes_[child_begin] >> shift) & digit_mask;
            const std::uint32_t child_end = static_cast<std::uint32_t>(
                std::partition_point(codes_.begin() + child_begin, codes_.begin() + end,
                                     [&](std::uint64_t c) { return ((c >> shift) & digit_mask) == digit; }) -
                codes_.begin());
            children[child_count++] = nodes_.size();
            build_node(child_begin, child_end, level + 1, 0.5 * half);
            child_begin = child_end;
        }
        for (int c = 0; c < child_count; ++c) {
            const Node& child = nodes_[children[c]];
            const double w = static_cast<double>(child.end - child.begin);
            for (int d = 0; d < Dim; ++d) com[d] += w * child.center_of_mass[d];
        }
        for (int d = 0; d < Dim; ++d) com[d] /= count;
        // Parallel-axis theorem: sum_c n_c (M_c + (com_c - com)(com_c - com)^T).
        for (int c = 0; c < child_count; ++c) {
            const Node& child = nodes_[children[c]];
            const double w = static_cast<double>(child.end - child.begin);
            for (int a = 0, m = 0; a < Dim; ++a)
                for (int b = a; b < Dim; ++b, ++m)
                    mom[m] += w * (child.moments[m] + (child.center_of_mass[a] - com[a]) *
                                                          (child.center_of_mass[b] - com[b]));
        }
    }
    Node& me = nodes_[self];  // nodes_ may have reallocated
    me.begin = begin;
    me.end = end;
    me.leaf = leaf;
    me.coincident = coincident;
    me.half_width = half;
    me.center_of_mass = com;
    for (int m = 0; m < M; ++m) me.moments[m] = mom[m] / count;
    me.skip = static_cast<std::uint32_t>(nodes_.size());
}

namespace {

constexpr int kLanes = 8;  // explicit SIMD lanes: fixed association order, vectorisable without -ffast-math

// Interaction lists of one leaf, structure-of-arrays so the per-point loops vectorise.
template <int Dim>
struct Interactions {
    static constexpr int M = Dim * (Dim + 1) / 2;
    std::array<std::vector<double>, Dim> cell_pos;   // centres of mass of summarised cells
    std::vector<double> cell_count;
    std::array<std::vector<double>, M> cell_mom;     // second moments (quadrupole)
    std::array<std::vector<double>, Dim> point_pos;  // points interacting directly
    std::vector<double> point_other;                 // 1, or 0 for the point itself (by tree index)
    std::vector<std::uint32_t> point_index;

    void clear() {
        for (auto& v : cell_pos) v.clear();
        cell_count.clear();
        for (auto& v : cell_mom) v.clear();
        for (auto& v : point_pos) v.clear();
        point_index.clear();
    }
    // Pads both lists to a multiple of kLanes with zero-weight entries far away.
    void pad() {
        while (cell_count.size() % kLanes) {
            for (auto& v : cell_pos) v.push_back(0.0);
            cell_count.push_back(0.0);
            for (auto& v : cell_mom) v.push_back(0.0);
        }
        while (point_index.size() % kLanes) {
            for (auto& v : point_pos) v.push_back(0.0);
            point_index.push_back(std::numeric_limits<std::uint32_t>::max());
        }
        point_other.resize(point_index.size());
    }
};

}  // namespace

// Group walk (Barnes 1990): one traversal per leaf builds the lists of cells and points that every point
// of the leaf interacts with; a cell is summarised only if the criterion holds for the whole leaf (the
// distance is measured from the centre of mass to the leaf's bounding box, so it is at least as strict
// as the per-point test). The per-point sums then run over contiguous arrays, kLanes at a time.
template <int Dim>
double SpaceTree<Dim>::repulsion(double theta, MatrixView forces, int threads) {
    constexpr int M = Dim * (Dim + 1) / 2;
    require(forces.rows == n_ && forces.cols == Dim,
            "SpaceTree::repulsion: force buffer has the wrong shape");
    require(!nodes_.empty(), "SpaceTree::repulsion: build() the tree first");
    point_z_.resize(static_cast<std::size_t>(n_));
    const double theta2 = theta * theta;
    const Node* nodes = nodes_.data();
    const auto node_count = static_cast<std::uint32_t>(nodes_.size());
    const double* pos = positions_.data();
    const bool quadrupole = quadrupole_;
    const auto leaf_total = static_cast<index_t>(leaves_.size());

    parallel_for(leaf_total, threads, [&](index_t first, index_t last) {
        Interactions<Dim> list;
        for (index_t li = first; li < last; ++li) {
            const Node& leaf = nodes[leaves_[static_cast<std::size_t>(li)]];
            std::array<double, Dim> lo, hi;
            lo.fill(std::numeric_limits<double>::infinity());
            hi.fill(-std::numeric_limits<double>::infinity());
            for (std::uint32_t s = leaf.begin; s < leaf.end; ++s)
                for (int d = 0; d < Dim; ++d) {
                    lo[d] = std::min(lo[d], pos[std::size_t{s} * Dim + d]);
                    hi[d] = std::max(hi[d], pos[std::size_t{s} * Dim + d]);
                }
            list.clear();
            auto add_cell = [&](const Node& node, double count) {
                for (int d = 0; d < Dim; ++d) list.cell_pos[d].push_back(node.center_of_mass[d]);
                list.cell_count.push_back(count);
                for (int m = 0; m < M; ++m) list.cell_mom[m].push_back(quadrupole ? node.moments[m] : 0.0);
            };
            // A leaf's points interact one by one, unless they coincide: then they are one exact cell
            // (for the leaf itself, of its other points, which all lie where every point of it lies).
            auto add_points = [&](const Node& node, bool self) {
                if (node.coincident) {
                    add_cell(node, static_cast<double>(node.end - node.begin) - (self ? 1.0 : 0.0));
                    return;
                }
                for (std::uint32_t t = node.begin; t < node.end; ++t) {
                    for (int d = 0; d < Dim; ++d) list.point_pos[d].push_back(pos[std::size_t{t} * Dim + d]);
                    list.point_index.push_back(t);
                }
            };
            std::uint32_t at = 0;
            while (at < node_count) {
                const Node& node = nodes[at];
                if (node.begin <= leaf.begin && leaf.end <= node.end) {  // an ancestor, or the leaf itself
                    if (node.leaf) {
                        add_points(node, true);
                        at = node.skip;
                    } else {
                        ++at;
                    }
                    continue;
                }
                double gap2 = 0.0;  // squared distance from the centre of mass to the leaf's box
                for (int d = 0; d < Dim; ++d) {
                    const double c = node.center_of_mass[d];
                    const double g = c < lo[d] ? lo[d] - c : (c > hi[d] ? c - hi[d] : 0.0);
                    gap2 += g * g;
                }
                // Barnes-Hut criterion (bhtsne's convention): half-width / distance < theta.
                if (node.half_width * node.half_width < theta2 * gap2) {
                    add_cell(node, static_cast<double>(node.end - node.begin));
                    at = node.skip;
                } else if (node.leaf) {
                    add_points(node, false);
                    at = node.skip;
                } else {
                    ++at;
                }
            }
            list.pad();
            const std::size_t cells = list.cell_count.size();
            const std::size_t points = list.point_index.size();

            // The points of a coincident leaf all get the force and Z of its first point.
            const std::uint32_t computed_end = leaf.coincident ? leaf.begin + 1 : leaf.end;
            for (std::uint32_t s = leaf.begin; s < computed_end; ++s) {
                std::array<double, Dim> p;
                for (int d = 0; d < Dim; ++d) p[d] = pos[std::size_t{s} * Dim + d];
                for (std::size_t t = 0; t < points; ++t)
                    list.point_other[t] = list.point_index[t] != s && list.point_index[t] != ~0u ? 1.0 : 0.0;
                double zl[kLanes] = {};
                double fl[Dim][kLanes] = {};
                // Summarised cells: monopole plus the second-order Taylor terms about the centre of mass,
                // averaged with the cell's second moments C (d = y_i - com, w = 1 / (1 + |d|^2)):
                //   E[w]     ~ w - w^2 tr C + 4 w^3 d'Cd
                //   E[w^2 d] ~ w^2 d + (-2 w^3 tr C + 12 w^4 d'Cd) d - 4 w^3 C d
                for (std::size_t c0 = 0; c0 < cells; c0 += kLanes) {
                    for (int l = 0; l < kLanes; ++l) {
                        const std::size_t c = c0 + static_cast<std::size_t>(l);
                        double diff[Dim];
                        double dist2 = 0.0;
                        for (int d = 0; d < Dim; ++d) {
                            diff[d] = p[d] - list.cell_pos[d][c];
                            dist2 += diff[d] * diff[d];
                        }
                        const double q = 1.0 / (1.0 + dist2);
                        double cd[Dim] = {};
                        double trace = 0.0, dcd = 0.0;
                        for (int a = 0, m = 0; a < Dim; ++a)
                            for (int b = a; b < Dim; ++b, ++m) {
                                const double mom = list.cell_mom[m][c];
                                if (a == b) {
                                    trace += mom;
                                    cd[a] += mom * diff[a];
                                    dcd += mom * diff[a] * diff[a];
                                } else {
                                    cd[a] += mom * diff[b];
                                    cd[b] += mom * diff[a];
                                    dcd += 2.0 * mom * diff[a] * diff[b];
                                }
                            }
                        const double q2 = q * q, q3 = q2 * q;
                        const double count = list.cell_count[c];
                        zl[l] += count * (q - q2 * trace + 4.0 * q3 * dcd);
                        const double fq = count * (q2 - 2.0 * q3 * trace + 12.0 * q3 * q * dcd);
                        for (int d = 0; d < Dim; ++d) fl[d][l] += fq * diff[d] - count * 4.0 * q3 * cd[d];
                    }
                }
                for (std::size_t t0 = 0; t0 < points; t0 += kLanes) {
                    for (int l = 0; l < kLanes; ++l) {
                        const std::size_t t = t0 + static_cast<std::size_t>(l);
                        double diff[Dim];
                        double dist2 = 0.0;
                        for (int d = 0; d < Dim; ++d) {
                            diff[d] = p[d] - list.point_pos[d][t];
                            dist2 += diff[d] * diff[d];
                        }
                        const double q = list.point_other[t] / (1.0 + dist2);
                        zl[l] += q;
                        for (int d = 0; d < Dim; ++d) fl[d][l] += q * q * diff[d];
                    }
                }
                double z = 0.0;
                std::array<double, Dim> f{};
                for (int l = 0; l < kLanes; ++l) {
                    z += zl[l];
                    for (int d = 0; d < Dim; ++d) f[d] += fl[d][l];
                }
                point_z_[s] = z;
                double* out = forces.row(order_[s]);
                for (int d = 0; d < Dim; ++d) out[d] = f[d];
            }
            for (std::uint32_t s = computed_end; s < leaf.end; ++s) {
                point_z_[s] = point_z_[leaf.begin];
                double* out = forces.row(order_[s]);
                for (int d = 0; d < Dim; ++d) out[d] = forces.row(order_[leaf.begin])[d];
            }
        }
    }, 16);

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

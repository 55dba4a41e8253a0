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

template <int Dim>
std::uint64_t morton_code(const std::array<std::uint32_t, Dim>& cell) {
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
    std::array<double, Dim> center;
    for (int d = 0; d < Dim; ++d) center[d] = 0.5 * (lo[d] + hi[d]);

    // Morton codes in input order, then an LSD radix sort of (code, index): stable, so equal codes keep
    // increasing index order and the tree order is a pure function of the embedding.
    codes_.resize(n);
    order_.resize(n);
    const double scale = static_cast<double>(1u << kBits) / (2.0 * half);
    const std::uint32_t max_cell = (1u << kBits) - 1;
    parallel_for(n_, threads, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i) {
            std::array<std::uint32_t, Dim> cell;
            for (int d = 0; d < Dim; ++d) {
                const double t = (y(i, d) - (center[d] - half)) * scale;
                cell[d] = std::min(max_cell, static_cast<std::uint32_t>(std::max(0.0, t)));
            }
            codes_[static_cast<std::size_t>(i)] = morton_code<Dim>(cell);
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
}

// Appends the node covering tree-order points [begin, end) at `level` (cell half-width `half`) and,
// recursively, its children in Morton order; fixes the node's skip index once its subtree is complete.
template <int Dim>
void SpaceTree<Dim>::build_node(std::uint32_t begin, std::uint32_t end, int level, double half) {
    constexpr int M = Dim * (Dim + 1) / 2;
    const std::size_t self = nodes_.size();
    nodes_.push_back(Node{});
    const bool leaf = end - begin <= static_cast<std::uint32_t>(leaf_capacity) || level >= kBits ||
                      codes_[begin] == codes_[end - 1];
    const double count = static_cast<double>(end - begin);
    std::array<double, Dim> com{};
    std::array<double, M> mom{};
    if (leaf) {
        for (std::uint32_t s = begin; s < end; ++s)
            for (int d = 0; d < Dim; ++d) com[d] += positions_[s * Dim + d];
        for (int d = 0; d < Dim; ++d) com[d] /= count;
        for (std::uint32_t s = begin; s < end; ++s) {
            const double* y = &positions_[s * Dim];
            for (int a = 0, m = 0; a < Dim; ++a)
                for (int b = a; b < Dim; ++b, ++m) mom[m] += (y[a] - com[a]) * (y[b] - com[b]);
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
    me.half_width = half;
    me.center_of_mass = com;
    for (int m = 0; m < M; ++m) me.moments[m] = mom[m] / count;
    me.skip = static_cast<std::uint32_t>(nodes_.size());
}

template <int Dim>
double SpaceTree<Dim>::repulsion(double theta, MatrixView forces, int threads) {
    require(forces.rows == n_ && forces.cols == Dim, "SpaceTree::repulsion: force buffer has the wrong shape");
    require(!nodes_.empty(), "SpaceTree::repulsion: build() the tree first");
    point_z_.resize(static_cast<std::size_t>(n_));
    const double theta2 = theta * theta;
    const Node* nodes = nodes_.data();
    const auto node_count = static_cast<std::uint32_t>(nodes_.size());
    const double* pos = positions_.data();
    const bool quadrupole = quadrupole_;

    parallel_for(n_, threads, [&](index_t begin, index_t end) {
        for (index_t si = begin; si < end; ++si) {
            const auto s = static_cast<std::uint32_t>(si);
            std::array<double, Dim> p, f{};
            for (int d = 0; d < Dim; ++d) p[d] = pos[s * Dim + d];
            double z = 0.0;
            std::uint32_t at = 0;
            while (at < node_count) {
                const Node& node = nodes[at];
                const bool contains_self = node.begin <= s && s < node.end;
                if (!contains_self) {
                    std::array<double, Dim> diff;
                    double dist2 = 0.0;
                    for (int d = 0; d < Dim; ++d) {
                        diff[d] = p[d] - node.center_of_mass[d];
                        dist2 += diff[d] * diff[d];
                    }
                    // Barnes-Hut criterion (bhtsne's convention): half-width / distance < theta.
                    if (node.half_width * node.half_width < theta2 * dist2) {
                        const double count = static_cast<double>(node.end - node.begin);
                        const double q = 1.0 / (1.0 + dist2);
                        double zq = q;
                        double fq = q * q;
                        std::array<double, Dim> cd{};
                        if (quadrupole) {
                            // Second-order Taylor terms about the centre of mass, averaged over the
                            // cell with its second moments C (d = y_i - com, w = q):
                            //   E[w]       ~ w - w^2 tr C + 4 w^3 d'Cd
                            //   E[w^2 d]   ~ w^2 d + (-2 w^3 tr C + 12 w^4 d'Cd) d - 4 w^3 C d
                            double trace = 0.0, dcd = 0.0;
                            for (int a = 0, m = 0; a < Dim; ++a)
                                for (int b = a; b < Dim; ++b, ++m) {
                                    const double c = node.moments[m];
                                    if (a == b) {
                                        trace += c;
                                        cd[a] += c * diff[a];
                                        dcd += c * diff[a] * diff[a];
                                    } else {
                                        cd[a] += c * diff[b];
                                        cd[b] += c * diff[a];
                                        dcd += 2.0 * c * diff[a] * diff[b];
                                    }
                                }
                            const double q2 = q * q, q3 = q2 * q;
                            zq += -q2 * trace + 4.0 * q3 * dcd;
                            fq += -2.0 * q3 * trace + 12.0 * q3 * q * dcd;
                            for (int d = 0; d < Dim; ++d) f[d] -= count * 4.0 * q3 * cd[d];
                        }
                        z += count * zq;
                        for (int d = 0; d < Dim; ++d) f[d] += count * fq * diff[d];
                        at = node.skip;
                        continue;
                    }
                }
                if (!node.leaf) {
                    ++at;  // open: the first child follows in pre-order
                    continue;
                }
                for (std::uint32_t t = node.begin; t < node.end; ++t) {
                    if (t == s) continue;
                    double dist2 = 0.0;
                    std::array<double, Dim> diff;
                    for (int d = 0; d < Dim; ++d) {
                        diff[d] = p[d] - pos[t * Dim + d];
                        dist2 += diff[d] * diff[d];
                    }
                    const double q = 1.0 / (1.0 + dist2);
                    z += q;
                    for (int d = 0; d < Dim; ++d) f[d] += q * q * diff[d];
                }
                at = node.skip;
            }
            point_z_[s] = z;
            double* out = forces.row(order_[s]);
            for (int d = 0; d < Dim; ++d) out[d] = f[d];
        }
    }, 256);

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

// The Barnes-Hut interaction kernels of SpaceTree's repulsion walks (repulsion.cpp, their only user):
// a leaf's interaction lists (Interactions), the output kernel's weights, and the sums over summarised
// cells (monopole plus the quadrupole's second-order terms) and over direct points, in vector lanes.
// Every function here is always inlined into the walk, so the compiler sees one loop per list. Private
// to src/tree.
#pragma once

#include "core/simd_namespace.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/lanes.hpp"
#include "tree/box.hpp"
#include "treesne/tree/space_tree.hpp"

namespace treesne::detail::bh {

TREESNE_SIMD_BEGIN

using detail::kLanes;
using detail::Lanes;

template <int Dim>
using TreeNode = typename SpaceTree<Dim>::Node;

// The interaction kernels run in Real: double, or float with twice the lanes. The lists are padded to
// whole groups of kWidth<Real> entries (64 bytes: 8 doubles or 16 floats), and a group's entry j always
// adds into double lane j % kLanes, so the sums are the same whatever the target. A target computes a
// group as kParts parts of kPartWidth<Real> entries (core/lanes.hpp), each a vector P<Real> in one
// register: the same operations on every entry, in the same order.
template <class Real>
constexpr std::size_t kWidth = sizeof(Lanes) / sizeof(Real);
template <class Real>
constexpr std::size_t kPartWidth = kWidth<Real> / kParts;
template <class Real>
using P = detail::Part<Real>;

template <class Real>
[[gnu::always_inline]] inline P<Real> load_part(const Real* at) {
    P<Real> v;
    __builtin_memcpy(&v, at, sizeof v);
    return v;
}

template <class Real>
[[gnu::always_inline]] inline P<Real> splat(Real x) {
    return P<Real>{} + x;
}

// acc += the group sums held in parts (part h holds entries h kPartWidth ...): entry j into double lane
// j % kLanes, in increasing j: for double one add per lane; for float, the low 8 entries then the high 8,
// as one 16-float vector widened half by half would add them.
template <class Real>
[[gnu::always_inline]] inline void accumulate(Lanes& acc, const P<Real> (&parts)[kParts]) {
    if constexpr (kParts == 1 && std::is_same_v<Real, double>) {
        acc += parts[0];
    } else if constexpr (kParts == 1) {
        using Half = float __attribute__((vector_size(kLanes * sizeof(float))));
        const Half lo = __builtin_shufflevector(parts[0], parts[0], 0, 1, 2, 3, 4, 5, 6, 7);
        const Half hi = __builtin_shufflevector(parts[0], parts[0], 8, 9, 10, 11, 12, 13, 14, 15);
        acc += __builtin_convertvector(lo, Lanes);
        acc += __builtin_convertvector(hi, Lanes);
    } else {
        for (int h = 0; h < kParts; ++h)
            for (std::size_t l = 0; l < kPartWidth<Real>; ++l)
                acc[(h * kPartWidth<Real> + l) % kLanes] += static_cast<double>(parts[h][l]);
    }
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

// exp(t) of each lane, for t <= 0 (0 below -708, where exp(t) leaves the normal doubles). Written out,
// as std::exp does not vectorise without -ffast-math: t = k ln 2 + r with k = round(t / ln 2) (by the
// 1.5 * 2^52 shifter) and |r| <= ln 2 / 2, exp(r) by its Taylor series to r^13 / 13! (the next term is
// below 4e-18), times 2^k made in the exponent bits. A fixed function of t: the same on every thread.
template <class V>
[[gnu::always_inline]] inline V exp_nonpositive_lanes(const V& t) {
    using Bits = typename detail::BitsOf<sizeof(V)>::type;
    constexpr double log2e = 1.4426950408889634074;
    constexpr double shifter = 0x1.8p52;
    constexpr double ln2_high = 0.693147180369123816490;    // 2^-32 precision: k ln2_high is exact
    constexpr double ln2_low = 1.90821492927058770002e-10;  // ln 2 - ln2_high
    const V k = (t * log2e + shifter) - shifter;
    const V r = (t - k * ln2_high) - k * ln2_low;
    V e = V{} + 1.0 / 6227020800.0;  // 1 / 13!
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
    V scale;
    __builtin_memcpy(&scale, &exponent, sizeof scale);
    const V result = e * scale;
    return t < -708.0 ? V{} : result;
}

// The general kernel's w = (1 + x)^-alpha = exp(-alpha log1p(x)) and u = (1 + x)^-1 with x = d^2 / alpha.
// log1p(x) = log(y) - ((y - 1) - x) / y with y = 1 + x rounded (Goldberg's correction of the rounding
// of y): log(y) alone would make w's relative error alpha times the rounding of y, 1e-10 at alpha = 1e6.
// At d = 0, w and u are exactly 1.
template <class V>
[[gnu::always_inline]] inline void general_weights_double(const V& dist2, const KernelConstants& k, V& w, V& u) {
    const V x = dist2 * k.inv_alpha;
    const V y = 1.0 + x;
    u = 1.0 / y;
    const V log1p = detail::log_normal_lanes(y) - ((y - 1.0) - x) * u;
    w = exp_nonpositive_lanes(-k.alpha * log1p);
}

// A part of floats widened to double.
using Wide = double __attribute__((vector_size(2 * kPartLanes * sizeof(double))));

// The same for a part of double or float lanes: float lanes take the logarithm and exponential in
// double, 8 lanes at a time, and u in float.
template <class Real>
[[gnu::always_inline]] inline void general_weights(const P<Real>& dist2, const KernelConstants& k, P<Real>& w,
                                                   P<Real>& u) {
    if constexpr (std::is_same_v<Real, double>) {
        general_weights_double(dist2, k, w, u);
    } else if constexpr (kPartWidth<Real> <= kLanes) {
        Wide w_all, u_all;
        general_weights_double(__builtin_convertvector(dist2, Wide), k, w_all, u_all);
        w = __builtin_convertvector(w_all, P<Real>);
        u = __builtin_convertvector(u_all, P<Real>);
    } else {
        static_assert(kPartWidth<Real> == 2 * kLanes, "the shuffles below split 16 float lanes");
        using Half = float __attribute__((vector_size(kLanes * sizeof(float))));
        const Half lo = __builtin_shufflevector(dist2, dist2, 0, 1, 2, 3, 4, 5, 6, 7);
        const Half hi = __builtin_shufflevector(dist2, dist2, 8, 9, 10, 11, 12, 13, 14, 15);
        Lanes w_lo, w_hi, u_lo, u_hi;
        general_weights_double(__builtin_convertvector(lo, Lanes), k, w_lo, u_lo);
        general_weights_double(__builtin_convertvector(hi, Lanes), k, w_hi, u_hi);
        const Half wl = __builtin_convertvector(w_lo, Half), wh = __builtin_convertvector(w_hi, Half);
        const Half ul = __builtin_convertvector(u_lo, Half), uh = __builtin_convertvector(u_hi, Half);
        w = __builtin_shufflevector(wl, wh, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        u = __builtin_shufflevector(ul, uh, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    }
}

// tr C, d'Cd and Cd of the cells' second moments C (upper triangle) from the part at entry c.
template <class Real, int Dim>
[[gnu::always_inline]] inline void moment_terms(const Interactions<Real, Dim>& list, std::size_t c,
                                                const P<Real> (&diff)[Dim], P<Real>& trace, P<Real>& dcd,
                                                P<Real> (&cd)[Dim]) {
    trace = P<Real>{};
    dcd = P<Real>{};
    for (int d = 0; d < Dim; ++d) cd[d] = P<Real>{};
    for (int a = 0, m = 0; a < Dim; ++a)
        for (int b = a; b < Dim; ++b, ++m) {
            const P<Real> mom = load_part(&list.cell_mom[m][c]);
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
    using V = P<Real>;
    const std::size_t cells = list.cell_count.size();
    V pv[Dim];
    for (int d = 0; d < Dim; ++d) pv[d] = splat<Real>(p[d]);
    V za[kParts];
    V fa[Dim][kParts];
    [[maybe_unused]] const Real a1 = static_cast<Real>(kc.a1), two_a1 = static_cast<Real>(2.0 * kc.a1),
                                b2 = static_cast<Real>(kc.b2);
    for (int h = 0; h < kParts; ++h) {
        V zh = {};  // part h's sums, in registers (not za[h], which GCC keeps in memory)
        V fh[Dim] = {};
        for (std::size_t c = h * kPartWidth<Real>; c < cells; c += kWidth<Real>) {
            V diff[Dim];
            V dist2 = {};
            for (int d = 0; d < Dim; ++d) {
                diff[d] = pv[d] - load_part(&list.cell_pos[d][c]);
                dist2 += diff[d] * diff[d];
            }
            V q;
            [[maybe_unused]] V u;
            if constexpr (K == Kernel::cauchy) {
                q = Real{1} / (Real{1} + dist2);
            } else {
                general_weights<Real>(dist2, kc, q, u);
            }
            V trace, dcd, cd[Dim];
            moment_terms(list, c, diff, trace, dcd, cd);
            const V count = load_part(&list.cell_count[c]);
            if constexpr (K == Kernel::cauchy) {
                const V q2 = q * q, q3 = q2 * q;
                zh += count * (q - q2 * trace + Real{4} * q3 * dcd);
                const V fq = count * (q2 - Real{2} * q3 * trace + Real{12} * q3 * q * dcd);
                const V c4 = count * Real{4} * q3;
                for (int d = 0; d < Dim; ++d) fh[d] += fq * diff[d] - c4 * cd[d];
            } else {
                const V wu = q * u, wu2 = wu * u;
                zh += count * (q - wu * trace + two_a1 * wu2 * dcd);
                const V fq = count * (wu - a1 * wu2 * trace + b2 * wu2 * u * dcd);
                const V cc = count * two_a1 * wu2;
                for (int d = 0; d < Dim; ++d) fh[d] += fq * diff[d] - cc * cd[d];
            }
        }
        za[h] = zh;
        for (int d = 0; d < Dim; ++d) fa[d][h] = fh[d];
    }
    accumulate<Real>(zl, za);
    for (int d = 0; d < Dim; ++d) accumulate<Real>(fl[d], fa[d]);
}

// Adds the direct interactions' Z and force on the point at p into the lane sums zl, fl (point_weight
// zeroes the padding). The list holds the point itself when it is not in a coincident leaf: its
// difference is exactly zero (the same double, rounded the same way), so it adds exactly 1 to Z and
// exactly 0 to the force (w = u = 1 at d = 0 for every kernel), and the caller takes the 1 off.
template <class Real, int Dim, Kernel K>
[[gnu::always_inline]] inline void sum_points(const std::array<Real, Dim>& p,
                                              const Interactions<Real, Dim>& list, const KernelConstants& kc,
                                              Lanes& zl, Lanes (&fl)[Dim]) {
    using V = P<Real>;
    const std::size_t points = list.point_weight.size();
    V pv[Dim];
    for (int d = 0; d < Dim; ++d) pv[d] = splat<Real>(p[d]);
    V za[kParts];
    V fa[Dim][kParts];
    for (int h = 0; h < kParts; ++h) {
        V zh = {};  // as in sum_cells
        V fh[Dim] = {};
        for (std::size_t t = h * kPartWidth<Real>; t < points; t += kWidth<Real>) {
            V diff[Dim];
            V dist2 = {};
            for (int d = 0; d < Dim; ++d) {
                diff[d] = pv[d] - load_part(&list.point_pos[d][t]);
                dist2 += diff[d] * diff[d];
            }
            if constexpr (K == Kernel::cauchy) {
                const V q = load_part(&list.point_weight[t]) / (Real{1} + dist2);
                zh += q;
                const V q2 = q * q;
                for (int d = 0; d < Dim; ++d) fh[d] += q2 * diff[d];
            } else {
                V w, u;
                general_weights<Real>(dist2, kc, w, u);
                w *= load_part(&list.point_weight[t]);
                zh += w;
                const V wu = w * u;
                for (int d = 0; d < Dim; ++d) fh[d] += wu * diff[d];
            }
        }
        za[h] = zh;
        for (int d = 0; d < Dim; ++d) fa[d][h] = fh[d];
    }
    accumulate<Real>(zl, za);
    for (int d = 0; d < Dim; ++d) accumulate<Real>(fl[d], fa[d]);
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

TREESNE_SIMD_END
}  // namespace treesne::detail::bh

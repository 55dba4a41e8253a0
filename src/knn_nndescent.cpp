// Approximate backend: a random-projection forest for a first graph, refined by NN-descent's local join
// (Dong, Moses & Li 2011: a neighbour of a neighbour is likely a neighbour), arranged so that the graph
// is a pure function of the data, k and the parameters: the same for every thread count, and parallel
// throughout.
//
// 1. Forest. Each tree splits the points recursively by the perpendicular bisector of two points drawn
//    from the node until a node holds at most `leaf_size` points. The draws are hashes of (seed, tree,
//    node), never thread state, so each tree is a pure function of the data: they are built in parallel.
// 2. First graph. Every point is offered its leaf-mates in every tree. The leaves of one tree are
//    disjoint, so they are processed in parallel, each writing only its own points' rows.
// 3. Refinement rounds: NN-descent's local join. For each point v, a list of "new" and one of "old"
//    candidates is drawn from v's row and its reverse neighbours (at most `candidates` each, chosen by a
//    hash of (round, v, u), not at random); every pair of them with at least one new member is compared,
//    and each of the two is offered to the other's row. An entry is new until its row's owner has put it
//    in a new list, so later rounds only look at what changed. The points are processed in blocks of a
//    fixed size, in the spatial order of the first tree: first the lists of the whole block are drawn
//    (this marks the drawn entries old), then the block's joins run in parallel, offering into any row
//    under that row's lock.
// 4. Exact distances. While the graph is built, it is ranked by a vectorised squared distance (fixed
//    lane order: deterministic and symmetric, but not bit-equal to squared_distance()), scaled by a power
//    of two and stored as float. At the end every row's distances are recomputed with squared_distance()
//    and the row is sorted by (distance, tie key), like the exact backends: only the membership of a row
//    is approximate. A row with fewer than k entries (tiny or heavily duplicated data) is answered by an
//    exact scan.
//
// Determinism. A row always holds the k best of everything ever offered to it, under a total order
// ((distance, tie key): distinct points have distinct keys), so its content does not depend on the order
// of the offers, only on their set. The offers of a block are a pure function of the rows at the start
// of the block (the lists are drawn before any join of the block runs), except that an offer is skipped
// when it is not better than the row's current worst entry: such an offer would be rejected whenever it
// came, because a row's worst entry only ever improves. So every row after a block, and the graph after
// each round, is the same for any thread count. The "new" flags follow: an entry present at the start
// of a block keeps its flag (unless its owner drew it), an entry inserted during the block is new. The
// rounds stop after `rounds` or when fewer than a fraction `stop_fraction` of the N k entries are new
// since the round began (a count over the graph: deterministic too).
//
// Memory, besides the output (N k (4 + 8) bytes): while the graph is built its distances are floats
// (4 N k bytes, freed before the exact distances are allocated) and each entry has a flag byte (N k);
// the reverse lists take N reverse_cap (4 + 1) bytes, the forest 4 N bytes per tree during step 2.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <utility>
#include <vector>

#include "knn_internal.hpp"
#include "lanes.hpp"
#include "treesne/errors.hpp"
#include "treesne/parallel.hpp"

namespace treesne::detail {
namespace {

// The forest's and the lists' randomness. A constant, not Options::seed: the graph (and so P) must not
// change when a run is repeated or resumed with another seed for its embedding (the same reason as
// hnsw's level seed).
constexpr std::uint64_t nndescent_seed = 0x6e6e2d6465736365ull;
// An empty slot of a row that is not yet full (N <= 2^32 - 1, so no point has this index).
constexpr point_t no_point = std::numeric_limits<point_t>::max();
// Split attempts (pairs of points drawn) per node before the balanced fallback.
constexpr int split_attempts = 3;
// Points whose data rows are prefetched ahead of their use when gathering a panel.
constexpr index_t prefetch_ahead = 8;
// Entry flags: not yet drawn into its owner's new list; inserted during the current round.
constexpr std::uint8_t fresh = 1, recent = 2;

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// --- arithmetic -----------------------------------------------------------------------------------

// The working distances, kLanes pairs at once. A panel holds points side by side, transposed:
// coordinate j of column c at panel[j * stride + c] (stride a multiple of kLanes, unused columns zero).
// out[c] = sum over j, in order, of (a[j] - panel[j, c])^2 for the columns c of lane groups
// [first, last). Each lane is one pair, so no lanes are added together: every pair is summed the same
// way, whatever its lane or panel. This one function (never inlined, so one piece of machine code)
// computes every working distance, which makes the working distance of a pair a pure function of the
// two points, and symmetric (the differences only change sign): a row compares the keys of the same
// point offered twice. It is not bit-equal to squared_distance(), which the final rows use.
[[gnu::noinline]] void panel_distances(const double* a, const double* panel, index_t stride, index_t d,
                                       index_t first, index_t last, double* out) {
    for (index_t g = first; g < last; ++g) {
        Lanes acc{};
        const double* column = panel + g * kLanes;
        for (index_t j = 0; j < d; ++j) {
            const Lanes diff = broadcast(a[j]) - load(column + j * stride);
            acc += diff * diff;
        }
        __builtin_memcpy(out + g * kLanes, &acc, sizeof acc);
    }
}

// Points side by side for panel_distances.
class Panel {
  public:
    // Gathers the rows `points[0, count)` of x (and nothing else) into the panel.
    void gather(ConstMatrixView x, const point_t* points, index_t count) {
        d_ = x.cols;
        groups_ = (count + kLanes - 1) / kLanes;
        stride_ = groups_ * kLanes;
        data_.resize(static_cast<std::size_t>(d_ * stride_));
        const index_t lines = (d_ * static_cast<index_t>(sizeof(double)) + 63) / 64;
        for (index_t c = 0; c < count; ++c) {
            if (c + prefetch_ahead < count) {  // the rows are scattered in memory
                const char* ahead = reinterpret_cast<const char*>(x.row(points[c + prefetch_ahead]));
                for (index_t line = 0; line < lines; ++line) __builtin_prefetch(ahead + 64 * line);
            }
            const double* row = x.row(points[c]);
            for (index_t j = 0; j < d_; ++j) data_[static_cast<std::size_t>(j * stride_ + c)] = row[j];
        }
        for (index_t c = count; c < stride_; ++c)
            for (index_t j = 0; j < d_; ++j) data_[static_cast<std::size_t>(j * stride_ + c)] = 0.0;
        out_.resize(static_cast<std::size_t>(stride_));
    }
    // Working distances from point `a` (its coordinates) to the columns from `from` on; returns them
    // indexed by column (entries before `from` are unspecified).
    const double* distances(const double* a, index_t from) {
        panel_distances(a, data_.data(), stride_, d_, from / kLanes, groups_, out_.data());
        return out_.data();
    }

  private:
    index_t d_ = 0, groups_ = 0, stride_ = 0;
    std::vector<double> data_, out_;
};

double dot(const double* a, const double* b, index_t d) {
    Lanes acc{};
    index_t j = 0;
    for (; j + kLanes <= d; j += kLanes) acc += load(a + j) * load(b + j);
    double sum = lane_sum(acc);
    for (; j < d; ++j) sum += a[j] * b[j];
    return sum;
}

// A pseudo-random word for (a, b): splitmix64's mixer over both, no state.
std::uint64_t draw(std::uint64_t a, std::uint64_t b) {
    return mix64(splitmix64_at(a) ^ b);
}

// The power of two that maps the squared distances of x into float's range without changing their
// order: 2^-2e where 2^e bounds the largest coordinate range, so scaled distances are at most D. The
// exponent is clamped so the scale is a normal double: for coordinates beyond about 1e154 the double
// distances themselves overflow (and below 1e-154 underflow); such pairs tie and the tie key orders
// them, which keeps the rows valid (and the final distances are exact anyway).
double distance_scale(ConstMatrixView x) {
    double spread = 0;
    for (index_t j = 0; j < x.cols; ++j) {
        double lo = x(0, j), hi = x(0, j);
        for (index_t i = 1; i < x.rows; ++i) {
            lo = std::min(lo, x(i, j));
            hi = std::max(hi, x(i, j));
        }
        spread = std::max(spread, hi - lo);  // +inf if the range overflows
    }
    int e = 0;
    if (spread > 0 && std::isfinite(spread)) std::frexp(spread, &e);  // spread in [2^(e-1), 2^e)
    if (!std::isfinite(spread)) e = std::numeric_limits<double>::max_exponent;
    return std::ldexp(1.0, std::clamp(-2 * e, std::numeric_limits<double>::min_exponent - 1,
                                      std::numeric_limits<double>::max_exponent - 1));
}

// --- 1. the forest --------------------------------------------------------------------------------

// One tree: the points leaf by leaf (left subtrees first, so nearby points are near in `order`).
struct Tree {
    std::vector<point_t> order;
    std::vector<index_t> leaf_begin;  // leaf l is order[leaf_begin[l], leaf_begin[l + 1])
};

class TreeBuilder {
  public:
    TreeBuilder(ConstMatrixView x, index_t leaf, std::uint64_t tree_seed)
        : x_(x), leaf_(leaf), seed_(tree_seed), normal_(static_cast<std::size_t>(x.cols)) {}

    Tree build() {
        const index_t n = x_.rows;
        Tree tree;
        tree.order.resize(static_cast<std::size_t>(n));
        for (index_t i = 0; i < n; ++i) tree.order[static_cast<std::size_t>(i)] = static_cast<point_t>(i);
        // Depth-first with an explicit stack (no recursion depth limit), left child first.
        struct Node {
            index_t begin, end;
            std::uint64_t id;
        };
        std::vector<Node> stack{{0, n, 1}};
        while (!stack.empty()) {
            const Node node = stack.back();
            stack.pop_back();
            if (node.end - node.begin <= leaf_) {
                tree.leaf_begin.push_back(node.begin);
                continue;
            }
            point_t* points = tree.order.data() + node.begin;
            const index_t mid = node.begin + split(points, node.end - node.begin, node.id);
            stack.push_back({mid, node.end, draw(node.id, 2)});
            stack.push_back({node.begin, mid, draw(node.id, 1)});
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
            const double* xa = x_.row(points[a]);
            const double* xb = x_.row(points[b]);
            // Normal xa - xb through the midpoint: the side is sign(<x, normal> - <(xa + xb) / 2, normal>).
            for (index_t j = 0; j < d; ++j) normal_[static_cast<std::size_t>(j)] = xa[j] - xb[j];
            double offset = 0;
            for (index_t j = 0; j < d; ++j) offset += 0.5 * (xa[j] + xb[j]) * normal_[static_cast<std::size_t>(j)];
            index_t right = 0;
            for (index_t p = 0; p < n; ++p) {
                const double s = dot(x_.row(points[p]), normal_.data(), d) - offset;
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

    ConstMatrixView x_;
    index_t leaf_;
    std::uint64_t seed_;
    std::vector<double> normal_, projection_, best_projection_;
    std::vector<point_t> scratch_;
    std::vector<std::pair<double, point_t>> keyed_;
};

// --- rows -----------------------------------------------------------------------------------------

// --- the working graph ----------------------------------------------------------------------------

// Row i: indices[i k, (i+1) k) (the output's storage) and distances (scaled fast distances, float),
// sorted by (distance, tie key); the slots past the row's last entry hold no_point. Each entry has a
// flag byte; each row a lock and its current worst distance (+inf until full), read without the lock to
// skip hopeless offers.
class Rows {
  public:
    Rows(std::vector<point_t>& indices, index_t n, index_t k)
        : index_(indices.data()),
          n_(n),
          k_(k),
          distance_(static_cast<std::size_t>(n * k), std::numeric_limits<float>::infinity()),
          flags_(static_cast<std::size_t>(n * k), 0),
          worst_(new std::atomic<float>[static_cast<std::size_t>(n)]),
          lock_(new std::atomic<std::uint8_t>[static_cast<std::size_t>(n)]) {
        std::fill(indices.begin(), indices.end(), no_point);
        for (index_t i = 0; i < n; ++i) {
            worst_[static_cast<std::size_t>(i)].store(std::numeric_limits<float>::infinity(), std::memory_order_relaxed);
            lock_[static_cast<std::size_t>(i)].store(0, std::memory_order_relaxed);
        }
    }

    index_t n() const { return n_; }
    index_t k() const { return k_; }
    point_t* indices(index_t i) { return index_ + i * k_; }
    const point_t* indices(index_t i) const { return index_ + i * k_; }
    float* distances(index_t i) { return distance_.data() + i * k_; }
    std::uint8_t* flags(index_t i) { return flags_.data() + i * k_; }
    const std::uint8_t* flags(index_t i) const { return flags_.data() + i * k_; }
    float worst(index_t i) const { return worst_[static_cast<std::size_t>(i)].load(std::memory_order_relaxed); }
    std::vector<std::uint8_t>& all_flags() { return flags_; }

    // Offers point b at scaled distance d to row a, from any thread. Returns whether it was inserted.
    bool offer(index_t a, point_t b, float d) {
        if (d > worst(a)) return false;  // the worst entry only improves: this offer could never enter
        std::atomic<std::uint8_t>& lock = lock_[static_cast<std::size_t>(a)];
        while (lock.exchange(1, std::memory_order_acquire) != 0)
            while (lock.load(std::memory_order_relaxed) != 0) {
            }
        const bool inserted = insert(a, b, d);
        lock.store(0, std::memory_order_release);
        return inserted;
    }

    // Inserts b into row a (flagged fresh and recent) unless it is there already or not better than the
    // worst entry of a full row. The caller owns the row (its lock, or the only thread touching it).
    bool insert(index_t a, point_t b, float d) {
        point_t* idx = indices(a);
        float* dist = distances(a);
        std::uint8_t* flag = flags(a);
        // One branch-free scan of the distances (it vectorises): how many entries are nearer than d, and
        // whether any is exactly as near. The same point always comes with the same distance, so b can
        // only be there if some entry ties with d. Empty slots hold +inf: neither.
        int nearer = 0, tied = 0;
        for (index_t p = 0; p < k_; ++p) {
            nearer += dist[p] < d ? 1 : 0;
            tied |= dist[p] == d ? 1 : 0;
        }
        index_t pos = nearer;
        if (tied) {
            for (index_t p = nearer; p < k_ && dist[p] == d; ++p)
                if (idx[p] == b) return false;
            // Among entries at exactly the same distance the tie key decides.
            const std::uint64_t tie = tie_key(a, b);
            while (pos < k_ && idx[pos] != no_point && dist[pos] == d && tie_key(a, idx[pos]) < tie) ++pos;
        }
        if (pos == k_) return false;  // a full row whose worst entry is before the offer
        const auto tail = static_cast<std::size_t>(k_ - 1 - pos);
        std::copy_backward(idx + pos, idx + pos + tail, idx + k_);
        std::copy_backward(dist + pos, dist + pos + tail, dist + k_);
        std::copy_backward(flag + pos, flag + pos + tail, flag + k_);
        idx[pos] = b;
        dist[pos] = d;
        flag[pos] = fresh | recent;
        if (idx[k_ - 1] != no_point)
            worst_[static_cast<std::size_t>(a)].store(dist[k_ - 1], std::memory_order_relaxed);
        return true;
    }

    // Sets the row's worst distance after the row was written directly (single owner).
    void sync_worst(index_t i) {
        const index_t last = i * k_ + k_ - 1;
        if (index_[last] != no_point)
            worst_[static_cast<std::size_t>(i)].store(distance_[static_cast<std::size_t>(last)], std::memory_order_relaxed);
    }

  private:
    point_t* index_;
    index_t n_, k_;
    std::vector<float> distance_;
    std::vector<std::uint8_t> flags_;
    std::unique_ptr<std::atomic<float>[]> worst_;
    std::unique_ptr<std::atomic<std::uint8_t>[]> lock_;
};

// --- 2. the first graph ---------------------------------------------------------------------------

// Offers every point of each leaf of `tree` its leaf-mates: the leaf's distances once, then per point
// the mates better than its row's worst, sorted and merged with the row in one pass. Leaves are
// disjoint, so each task owns its points' rows.
void merge_tree(ConstMatrixView x, const Tree& tree, double scale, int threads, Rows& rows) {
    const index_t k = rows.k();
    const auto leaves = static_cast<index_t>(tree.leaf_begin.size()) - 1;
    parallel_for(
        leaves, threads,
        [&](index_t l0, index_t l1) {
            Panel panel;
            std::vector<float> pair;  // the leaf's distance matrix
            std::vector<Neighbor> offers;
            std::vector<point_t> old_indices(static_cast<std::size_t>(k));
            std::vector<float> old_distances(static_cast<std::size_t>(k));
            for (index_t l = l0; l < l1; ++l) {
                const index_t first = tree.leaf_begin[static_cast<std::size_t>(l)];
                const index_t m = tree.leaf_begin[static_cast<std::size_t>(l + 1)] - first;
                const point_t* members = tree.order.data() + first;
                panel.gather(x, members, m);
                pair.resize(static_cast<std::size_t>(m * m));
                for (index_t a = 0; a < m; ++a) {
                    const double* d = panel.distances(x.row(members[a]), 0);
                    for (index_t b = 0; b < m; ++b) pair[static_cast<std::size_t>(a * m + b)] = static_cast<float>(scale * d[b]);
                }
                for (index_t a = 0; a < m; ++a) {
                    const index_t i = members[a];
                    const float worst = rows.worst(i);
                    offers.clear();
                    for (index_t b = 0; b < m; ++b) {
                        const float d = pair[static_cast<std::size_t>(a * m + b)];
                        if (b != a && d <= worst) offers.push_back(candidate(i, members[b], d));
                    }
                    if (offers.empty()) continue;
                    std::sort(offers.begin(), offers.end());
                    // Merge the sorted offers with the row; an offer already in the row has the same key
                    // as its entry, so the two meet and the offer is dropped.
                    point_t* idx = rows.indices(i);
                    float* dist = rows.distances(i);
                    std::copy_n(idx, k, old_indices.begin());
                    std::copy_n(dist, k, old_distances.begin());
                    index_t r = 0, o = 0, out = 0;
                    const auto count = static_cast<index_t>(offers.size());
                    while (out < k) {
                        const bool row_left = r < k && old_indices[static_cast<std::size_t>(r)] != no_point;
                        if (!row_left && o == count) break;
                        bool take_row = o == count;
                        if (row_left && o < count) {
                            const Neighbor& offer = offers[static_cast<std::size_t>(o)];
                            const point_t p = old_indices[static_cast<std::size_t>(r)];
                            if (offer.index == p) {
                                ++o;
                                continue;
                            }
                            const double dr = old_distances[static_cast<std::size_t>(r)];
                            take_row = dr < offer.distance || (dr == offer.distance && tie_key(i, p) < offer.tie);
                        }
                        if (take_row) {
                            idx[out] = old_indices[static_cast<std::size_t>(r)];
                            dist[out] = old_distances[static_cast<std::size_t>(r)];
                            ++r;
                        } else {
                            idx[out] = offers[static_cast<std::size_t>(o)].index;
                            dist[out] = static_cast<float>(offers[static_cast<std::size_t>(o)].distance);
                            ++o;
                        }
                        ++out;
                    }
                    rows.sync_worst(i);
                }
            }
        },
        1);
}

// --- 3. refinement --------------------------------------------------------------------------------

// Reverse neighbours: R(v) = points whose row holds v, at most `cap` per point, each with the fresh
// flag of its entry. Built serially from the graph at the start of a round: O(N k), small next to the
// round itself. Most points have more than `cap` reverse neighbours (the average is k); the first `cap`
// in the scan are kept, and the rows are scanned in a different pseudo-random order every round, so that
// every reverse link gets its turn. (In index order the high indices would never be kept by a point
// with many reverse neighbours, and a point that no row holds would only ever be reached through them.)
struct ReverseLists {
    index_t cap = 0;
    std::vector<point_t> points;       // N cap
    std::vector<std::uint8_t> fresh;   // N cap: the entry (point -> v) is fresh
    std::vector<std::uint32_t> count;  // N

    void build(const Rows& rows, std::uint64_t round_seed) {
        const index_t n = rows.n(), k = rows.k();
        points.resize(static_cast<std::size_t>(n * cap));
        fresh.resize(static_cast<std::size_t>(n * cap));
        count.assign(static_cast<std::size_t>(n), 0);
        if (cap == 0) return;
        // i = (offset + j step) mod N visits every row once when gcd(step, N) = 1.
        const auto un = static_cast<std::uint64_t>(n);
        std::uint64_t step = round_seed % un;
        while (std::gcd(step, un) != 1) step = (step + 1) % un;
        const std::uint64_t offset = draw(round_seed, 1) % un;
        std::uint64_t i = offset;
        for (index_t j = 0; j < n; ++j, i = (i + step) % un) {
            const point_t* row = rows.indices(static_cast<index_t>(i));
            const std::uint8_t* flags = rows.flags(static_cast<index_t>(i));
            for (index_t p = 0; p < k && row[p] != no_point; ++p) {
                std::uint32_t& c = count[row[p]];
                if (c < cap) {
                    const auto slot = static_cast<std::size_t>(static_cast<index_t>(row[p]) * cap + c);
                    points[slot] = static_cast<point_t>(i);
                    fresh[slot] = flags[p] & ::treesne::detail::fresh;
                    ++c;
                }
            }
        }
    }
};

// The candidate lists of one point for one round: up to `candidates` new and `candidates` old points.
struct Lists {
    std::vector<point_t> points;  // block size * 2 * candidates: new ones, then old ones
    std::vector<index_t> new_count, old_count;
};

// One block of one round.
class Joiner {
  public:
    Joiner(ConstMatrixView x, double scale, index_t candidates, std::uint64_t round_seed)
        : x_(x), scale_(scale), candidates_(candidates), seed_(round_seed) {}

    // Draws the new and old lists of v from its row and reverse list into list[0, 2 candidates), marks
    // the forward entries drawn into the new list as no longer fresh; returns (new count, old count).
    std::pair<index_t, index_t> draw_lists(index_t v, Rows& rows, const ReverseLists& reverse, point_t* list) {
        const index_t k = rows.k();
        const point_t* row = rows.indices(v);
        std::uint8_t* flags = rows.flags(v);
        pool_.clear();
        for (index_t p = 0; p < k && row[p] != no_point; ++p)
            pool_.push_back({row[p], (flags[p] & fresh) != 0, p});
        const index_t cap = reverse.cap;
        const std::uint32_t count = reverse.count[static_cast<std::size_t>(v)];
        for (index_t q = 0; q < count; ++q) {
            const auto slot = static_cast<std::size_t>(v * cap + q);
            pool_.push_back({reverse.points[slot], reverse.fresh[slot] != 0, -1});
        }
        // A point both in the row and in the reverse list counts once, new if either link is fresh.
        std::sort(pool_.begin(), pool_.end(), [](const Entry& a, const Entry& b) {
            return a.point < b.point || (a.point == b.point && a.position > b.position);
        });
        index_t kept = 0;
        for (std::size_t e = 0; e < pool_.size(); ++e) {
            if (kept > 0 && pool_[static_cast<std::size_t>(kept - 1)].point == pool_[e].point) {
                pool_[static_cast<std::size_t>(kept - 1)].fresh |= pool_[e].fresh;
                continue;
            }
            pool_[static_cast<std::size_t>(kept++)] = pool_[e];
        }
        pool_.resize(static_cast<std::size_t>(kept));
        // Priorities by hash, so the draw is a fixed function of (round, v, u).
        for (Entry& e : pool_) e.priority = draw(seed_ ^ static_cast<std::uint64_t>(v), e.point);
        auto by_priority = [](const Entry& a, const Entry& b) { return a.priority < b.priority; };
        const auto middle = std::partition(pool_.begin(), pool_.end(), [](const Entry& e) { return e.fresh; });
        const auto fresh_count = static_cast<index_t>(middle - pool_.begin());
        const auto old_count = kept - fresh_count;
        const index_t take_new = std::min(fresh_count, candidates_);
        const index_t take_old = std::min(old_count, candidates_);
        if (fresh_count > take_new) std::nth_element(pool_.begin(), pool_.begin() + take_new, middle, by_priority);
        if (old_count > take_old) std::nth_element(middle, middle + take_old, pool_.end(), by_priority);
        for (index_t e = 0; e < take_new; ++e) {
            const Entry& entry = pool_[static_cast<std::size_t>(e)];
            list[e] = entry.point;
            if (entry.position >= 0) flags[entry.position] &= static_cast<std::uint8_t>(~fresh);
        }
        for (index_t e = 0; e < take_old; ++e) list[take_new + e] = (middle + e)->point;
        return {take_new, take_old};
    }

    // The local join of v: every pair of its lists with a new member, each offered to the other's row;
    // v is offered to its new members' rows. Returns the number of distances computed.
    index_t join(index_t v, point_t* list, index_t new_count, index_t old_count, Rows& rows) {
        const index_t m = new_count + old_count;
        // v goes last: its new members are offered v.
        list[m] = static_cast<point_t>(v);
        // The members' rows are about to be offered to: start loading their distances.
        const index_t lines = (rows.k() * static_cast<index_t>(sizeof(float)) + 63) / 64;
        for (index_t a = 0; a < m; ++a) {
            const char* row = reinterpret_cast<const char*>(rows.distances(list[a]));
            for (index_t line = 0; line < lines; ++line) __builtin_prefetch(row + 64 * line);
        }
        panel_.gather(x_, list, m + 1);
        index_t computed = 0;
        for (index_t a = 0; a < new_count; ++a) {
            const point_t pa = list[a];
            const double* d = panel_.distances(x_.row(pa), a + 1);
            rows.offer(pa, static_cast<point_t>(v), static_cast<float>(scale_ * d[m]));
            for (index_t b = a + 1; b < m; ++b) {
                const point_t pb = list[b];
                const auto dab = static_cast<float>(scale_ * d[b]);
                rows.offer(pa, pb, dab);
                rows.offer(pb, pa, dab);
            }
            computed += m - a;
        }
        return computed;
    }

  private:
    struct Entry {
        point_t point;
        bool fresh;
        index_t position;  // in v's row, or -1 for a reverse link only
        std::uint64_t priority = 0;
    };
    ConstMatrixView x_;
    double scale_;
    index_t candidates_;
    std::uint64_t seed_;
    std::vector<Entry> pool_;
    Panel panel_;
};

// --- 4. exact distances ---------------------------------------------------------------------------

// Replaces every row's working distances by squared_distance() and sorts it by (distance, tie key); a
// row that never filled up is answered by an exact scan. Returns the number of such rows.
index_t finish(ConstMatrixView x, int threads, NeighborGraph& graph) {
    const index_t k = graph.k;
    std::atomic<index_t> exact_rows{0};
    parallel_for(x.rows, threads, [&](index_t begin, index_t end) {
        std::vector<Neighbor> row;
        index_t exact = 0;
        for (index_t i = begin; i < end; ++i) {
            const point_t* indices = graph.indices.data() + i * k;
            if (indices[k - 1] == no_point) {
                exact_scan_row(x, i, k, row, graph);
                ++exact;
                continue;
            }
            row.clear();
            for (index_t p = 0; p < k; ++p)
                row.push_back(candidate(i, indices[p], squared_distance(x.row(i), x.row(indices[p]), x.cols)));
            write_row(row, i, k, graph);
        }
        exact_rows += exact;
    });
    return exact_rows.load();
}

void exact_scan_all(ConstMatrixView x, index_t k, int threads, NeighborGraph& graph) {
    parallel_for(x.rows, threads, [&](index_t begin, index_t end) {
        std::vector<Neighbor> scratch;
        for (index_t i = begin; i < end; ++i) exact_scan_row(x, i, k, scratch, graph);
    });
}

}  // namespace

NndescentParameters resolve_nndescent(const NeighborOptions& options, index_t n, index_t k) {
    (void)n;
    (void)k;
    NndescentParameters p;
    p.trees = options.nndescent_trees > 0 ? options.nndescent_trees : 8;
    p.leaf_size = options.nndescent_leaf_size > 0 ? options.nndescent_leaf_size : 100;
    p.rounds = options.nndescent_rounds > 0 ? options.nndescent_rounds : 10;
    p.candidates = 60;
    p.reverse_cap = 32;
    p.stop_fraction = 0.001;
    p.block = 4096;
    return p;
}

NeighborGraph knn_nndescent(ConstMatrixView x, index_t k, const NndescentParameters& p, int threads,
                            NndescentReport* report) {
    NndescentReport local;
    NndescentReport& r = report ? *report : local;
    r = NndescentReport{};
    const index_t n = x.rows;
    auto start = std::chrono::steady_clock::now();
    // Small inputs: the exact scan costs about as much as one round, and settles k close to N exactly.
    if (n <= std::max<index_t>(4 * (k + 1), p.leaf_size)) {
        NeighborGraph graph = allocate_graph(n, k);
        exact_scan_all(x, k, threads, graph);
        r.exact_rows = n;
        r.finish_seconds = seconds_since(start);
        return graph;
    }
    NeighborGraph graph;
    graph.n = n;
    graph.k = k;
    graph.indices.resize(static_cast<std::size_t>(n * k));
    std::vector<point_t> order;
    {
        Rows rows(graph.indices, n, k);
        const double scale = distance_scale(x);

        // 1. The forest, one task per tree.
        std::vector<Tree> trees(static_cast<std::size_t>(p.trees));
        parallel_for(
            p.trees, threads,
            [&](index_t t0, index_t t1) {
                for (index_t t = t0; t < t1; ++t)
                    trees[static_cast<std::size_t>(t)] =
                        TreeBuilder(x, p.leaf_size, draw(nndescent_seed, static_cast<std::uint64_t>(t))).build();
            },
            1);
        r.forest_seconds = seconds_since(start);

        // 2. The first graph, tree by tree; the first tree's order is kept as the processing order.
        start = std::chrono::steady_clock::now();
        for (auto& tree : trees) {
            merge_tree(x, tree, scale, threads, rows);
            if (&tree != &trees.front()) std::vector<point_t>().swap(tree.order);
        }
        order = std::move(trees.front().order);
        trees.clear();
        std::fill(rows.all_flags().begin(), rows.all_flags().end(), fresh);
        r.init_seconds = seconds_since(start);

        // 3. Refinement rounds, block by block in the spatial order.
        start = std::chrono::steady_clock::now();
        ReverseLists reverse;
        reverse.cap = p.reverse_cap;
        const index_t block = std::min(p.block, n);
        const index_t width = 2 * p.candidates + 1;  // the new and old lists, and room for v
        std::vector<point_t> lists(static_cast<std::size_t>(block * width));
        std::vector<std::pair<index_t, index_t>> counts(static_cast<std::size_t>(block));
        for (index_t round = 0; round < p.rounds; ++round) {
            const std::uint64_t round_seed = draw(nndescent_seed, ~static_cast<std::uint64_t>(round));
            reverse.build(rows, round_seed);
            std::atomic<index_t> computed{0};
            for (index_t b0 = 0; b0 < n; b0 += block) {
                const index_t size = std::min(block, n - b0);
                // All lists of the block first: drawing changes the flags of the block's own rows, which
                // the joins below may read and write.
                parallel_for(size, threads, [&](index_t begin, index_t end) {
                    Joiner joiner(x, scale, p.candidates, round_seed);
                    for (index_t s = begin; s < end; ++s)
                        counts[static_cast<std::size_t>(s)] = joiner.draw_lists(
                            order[static_cast<std::size_t>(b0 + s)], rows, reverse, lists.data() + s * width);
                });
                parallel_for(size, threads, [&](index_t begin, index_t end) {
                    Joiner joiner(x, scale, p.candidates, round_seed);
                    index_t local_computed = 0;
                    for (index_t s = begin; s < end; ++s) {
                        const auto [fresh_count, old_count] = counts[static_cast<std::size_t>(s)];
                        local_computed += joiner.join(order[static_cast<std::size_t>(b0 + s)],
                                                      lists.data() + s * width, fresh_count, old_count, rows);
                    }
                    computed += local_computed;
                });
            }
            // Entries inserted during this round and still there; then the next round starts afresh.
            std::vector<std::uint8_t>& flags = rows.all_flags();
            const index_t changed = static_cast<index_t>(parallel_sum(
                static_cast<index_t>(flags.size()), threads, [&](index_t begin, index_t end) {
                    index_t c = 0;
                    for (index_t e = begin; e < end; ++e) {
                        c += (flags[static_cast<std::size_t>(e)] & recent) != 0 ? 1 : 0;
                        flags[static_cast<std::size_t>(e)] &= static_cast<std::uint8_t>(~recent);
                    }
                    return static_cast<double>(c);
                }));
            r.changes.push_back(changed);
            r.distances.push_back(computed.load());
            ++r.rounds;
            if (static_cast<double>(changed) <= p.stop_fraction * static_cast<double>(n * k)) break;
        }
        r.refine_seconds = seconds_since(start);
    }

    // 4. Exact distances and the project's order (the working rows are freed first).
    start = std::chrono::steady_clock::now();
    graph.distances.resize(static_cast<std::size_t>(n * k));
    r.exact_rows = finish(x, threads, graph);
    r.finish_seconds = seconds_since(start);
    return graph;
}

NeighborGraph knn_nndescent(ConstMatrixView x, index_t k, const NeighborOptions& options, int threads) {
    return knn_nndescent(x, k, resolve_nndescent(options, x.rows, k), threads, nullptr);
}

}  // namespace treesne::detail

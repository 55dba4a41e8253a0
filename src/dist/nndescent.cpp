// The distributed nndescent: a random-projection forest for a first graph, refined by NN-descent's local
// joins (Dong, Moses & Li 2011), over rows that never leave their owners except in bounded batches.
//
// 1. Forest, level by level, all trees at once. Every point of a node goes to the side of the nearer
//    of the node's two pivots (the perpendicular bisector of the single process's trees). The pivots are the node's two
//    members with the smallest hash of (tree, level, global index): each rank sends every rank, per
//    node, its member count and its two smallest hashes, so every rank knows every node's size and
//    pivots; the pivots' rows are then fetched. A node of at most leaf_size points is a leaf. Each
//    leaf's members are sent to one rank (leaf number mod R), which offers every member its nearest
//    leaf-mates; the leaves go in rounds of consecutive numbers (about leaf_batch points a rank). After
//    the trees, a row still short of k entries gets random points (a hash of its index).
// 2. Rounds, each of round_phases phases; a hash of (round, point) puts each point in one phase. At a
//    phase's start each rank sends the reverse links of its rows to the phase's points' owners (in
//    rounds of reverse_batch links; the owner keeps the `reverse_cap` with the smallest hash of
//    (round, v, u)), and draws each of its phase points' new and old lists as the single process does
//    (by a hash of (round, v, u)). Those points are then joined in batches, in the first tree's leaf
//    order so that a batch shares its candidates (at most batch_points points and batch_rows distinct
//    candidates): the candidates' rows are fetched with each row's entries and worst distance, every
//    pair with a new member is compared, and each is offered to the other's row unless that row holds
//    it already or it is farther than the row's worst entry. A sender keeps only the k best distinct
//    offers per row; the owner merges them into the row at once (take), marking what enters as recent.
//    The rounds stop as the single process's do (the recent entries of a round counted at its end).
//
// Determinism. Every random choice is a hash of (seed, tree or round, global indices), never rank or
// thread state. A row is always the k best, under the total order (distance, tie key), of itself at
// the phase's start and the offers received so far; an offer is dropped only when its row holds it or
// is farther than the row's worst entry when it was fetched, which it could then never beat. So at the
// phase's end each row is the k best of itself and every offer the phase's lists produce, which are a
// pure function of the graph at the phase's start: what a row holds does not depend on R, on which rank
// computed an offer or on when it arrived. Every distance is rank_distance() of the two rows (symmetric
// bit for bit), so the graph needs no final pass; for euclidean and cosine a lane-wise screen
// (screen_distances) first rules out the pairs that are clearly too far, with a margin that covers its
// rounding.
//
// Memory per rank, beyond its rows of X: the graph rows (13 bytes an entry), the join order; the
// forest's node and leaf numbers (16 bytes a point and tree) or a phase's lists (2 candidates x 4
// bytes a point) and kept reverse links; and the largest exchange round: reverse links, a round of
// leaves, or one batch of joins (the rows of at most batch_rows candidates and the offers of at most
// batch_points points). O((N/R) k + batch): nndescent_rank_bytes. Files: this one (fetching, offers,
// rounds, the driver), nndescent_forest.cpp (step 1), nndescent_search.hpp (the rank's state, Search).
#include "dist/nndescent.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/lanes.hpp"
#include "dist/bytes.hpp"
#include "dist/nndescent_search.hpp"
#include "treesne/io/io.hpp"
#include "treesne/core/hash.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne::dist {
namespace nnd {

index_t largest_of(Collective& c, index_t v) {
    const std::vector<index_t> all = gather_each(c, v);
    return *std::max_element(all.begin(), all.end());
}

index_t sum_of(Collective& c, index_t v) {
    index_t total = 0;
    for (index_t x : gather_each(c, v)) total += x;
    return total;
}

namespace {

// Screening distances for euclidean and cosine: query q against the panel's columns in lane groups
// [g0, g1), each column's sum in index order as squared_distance's, into out (by column). Only screens:
// with or without fused multiply-adds it is within a relative (4 d + 8) 2^-53 of rank_distance() (sums
// of non-negative terms), so a pair whose screening value exceeds a bound by that factor is farther.
void screen_distances(const double* q, const double* panel, index_t stride, index_t d, index_t g0, index_t g1,
                      double* out) {
    for (index_t g = g0; g < g1; ++g) {
        detail::Lanes acc{};
        for (index_t j = 0; j < d; ++j) {
            const detail::Lanes diff = detail::broadcast(q[j]) - detail::load(panel + j * stride + g * detail::kLanes);
            acc += diff * diff;
        }
        __builtin_memcpy(out + g * detail::kLanes, &acc, sizeof acc);
    }
}

}  // namespace

// Every rank asks the owners for the rows of `points` (sorted, distinct) and gets them with each row's
// worst distance now, into f (its storage reused). Collective: the owners answer every rank's requests.
void Search::fetch(const std::vector<point_t>& points, bool held, Fetched& f) {
    const int ranks = c_.size();
    ask_.prepare(ranks);
    for (point_t p : points) put(ask_.to_each[static_cast<std::size_t>(rows_.owner(p))], p);
    c_.exchange(ask_.to_each, ask_.in, &ask_.from);
    answer_.prepare(ranks);
    for (int r = 0; r < ranks; ++r) {
        Reader read(ask_.in.data() + ask_.from[static_cast<std::size_t>(r)],
                    ask_.from[static_cast<std::size_t>(r) + 1] - ask_.from[static_cast<std::size_t>(r)]);
        auto& out = answer_.to_each[static_cast<std::size_t>(r)];
        while (!read.done()) {
            const index_t i = read.get<point_t>() - first_;
            put(out, x_.row(i), static_cast<std::size_t>(x_.cols));
            put(out, worst(i));
            if (!held) continue;
            put(out, index_.data() + i * k_, static_cast<std::size_t>(k_));
        }
    }
    c_.exchange(answer_.to_each, answer_.in, nullptr);  // in rank order: the points' order
    f.points.assign(points.begin(), points.end());
    f.d = x_.cols;
    f.coords.resize(points.size() * static_cast<std::size_t>(f.d));
    f.worst.resize(points.size());
    f.k = k_;
    f.held.resize(held ? points.size() * static_cast<std::size_t>(k_) : 0);
    Reader read(answer_.in);
    for (std::size_t s = 0; s < points.size(); ++s) {
        read.copy(f.coords.data() + s * static_cast<std::size_t>(f.d), static_cast<std::size_t>(f.d));
        f.worst[s] = read.get<double>();
        if (held) read.copy(f.held.data() + s * static_cast<std::size_t>(k_), static_cast<std::size_t>(k_));
    }
}

// The exchanges' buffers and the batch's rows and offers, given back (between the search's steps).
void Search::release_buffers() {
    ask_ = {};
    answer_ = {};
    offered_ = {};
    fetched_ = {};
    offers_ = {};
}

// Sends each offer to its target's owner, which merges it into the row (take). The rows do not depend
// on the offers' order. `offers` is spent: its storage holds the offers received.
void Search::deliver(std::vector<Offer>& offers) {
    const int ranks = c_.size();
    // Only the k best distinct offers to a row can all enter it: the rest are dropped before sending.
    auto order = [](const Offer& a, const Offer& b) {  // by target, then by the target row's order
        if (a.target != b.target) return a.target < b.target;
        if (a.distance != b.distance) return a.distance < b.distance;
        return tie_key(a.target, a.point) < tie_key(b.target, b.point);
    };
    std::sort(offers.begin(), offers.end(), order);
    std::size_t kept = 0;
    for (std::size_t e = 0, run = 0; e < offers.size(); ++e) {
        const bool same_row = kept > 0 && offers[kept - 1].target == offers[e].target;
        if (same_row && offers[kept - 1].point == offers[e].point) continue;  // the same pair, the same key
        run = same_row ? run + 1 : 0;
        if (run < static_cast<std::size_t>(k_)) offers[kept++] = offers[e];
    }
    offers.resize(kept);
    offered_.prepare(ranks);
    for (std::size_t e = 0; e < offers.size();) {
        const int r = rows_.owner(offers[e].target);
        std::size_t end = e;
        while (end < offers.size() && offers[end].target < static_cast<point_t>(rows_.end(r))) ++end;
        put(offered_.to_each[static_cast<std::size_t>(r)], offers.data() + e, end - e);
        e = end;
    }
    c_.exchange(offered_.to_each, offered_.in, nullptr);
    std::vector<Offer>& got = offers;  // sent: its storage takes what came
    got.resize(offered_.in.size() / sizeof(Offer));
    Reader(offered_.in).copy(got.data(), got.size());
    std::sort(got.begin(), got.end(), [](const Offer& a, const Offer& b) { return a.target < b.target; });
    std::vector<std::size_t> start{0};  // the rows' runs, merged in parallel (each run one row)
    for (std::size_t e = 1; e <= got.size(); ++e)
        if (e == got.size() || got[e].target != got[e - 1].target) start.push_back(e);
    parallel_for(static_cast<index_t>(start.size()) - 1, threads_, [&](index_t b, index_t e) {
        std::vector<Merging> scratch;
        for (index_t s = b; s < e; ++s) {
            const std::size_t at = start[static_cast<std::size_t>(s)];
            take(got[at].target - first_, got.data() + at,
                 static_cast<index_t>(start[static_cast<std::size_t>(s) + 1] - at), scratch);
        }
    });
}

// Row i becomes the k best of itself and `offers` (an offer of a point it holds has the entry's key and
// leaves the entry, and its flags, as they are; an offer farther than the row's worst entry could never
// enter). An inserted entry is fresh and recent.
void Search::take(index_t i, const Offer* offers, index_t count, std::vector<Merging>& scratch) {
    const index_t g = first_ + i;
    const double bound = worst(i);
    const auto at = static_cast<std::size_t>(i * k_);
    scratch.clear();
    for (index_t e = 0; e < count; ++e)
        if (offers[e].distance <= bound)
            scratch.push_back({detail::candidate(g, offers[e].point, offers[e].distance), fresh_bit | recent_bit, 1});
    if (scratch.empty()) return;
    std::sort(scratch.begin(), scratch.end(), [](const Merging& a, const Merging& b) { return a.n < b.n; });
    const std::size_t offered = scratch.size();
    index_t held = 0;
    while (held < k_ && index_[at + static_cast<std::size_t>(held)] != no_point) ++held;
    // The row (sorted) and the offers merged behind them, the first k distinct points. The same point
    // has the same key in both: the row's entry goes first and is the one kept. A row entry's tie key is
    // computed only where its distance equals the offer's.
    index_t r = 0;
    std::size_t o = 0;
    point_t last = no_point;
    while (scratch.size() - offered < static_cast<std::size_t>(k_) && (r < held || o < offered)) {
        bool from_row = o == offered;
        if (r < held && o < offered) {
            const double dr = distance_[at + static_cast<std::size_t>(r)], dof = scratch[o].n.distance;
            from_row = dr < dof || (dr == dof && !(scratch[o].n.tie < tie_key(g, index_[at + static_cast<std::size_t>(r)])));
        }
        Merging next;
        if (from_row) {
            const auto e = at + static_cast<std::size_t>(r++);
            next = {{distance_[e], 0, index_[e]}, fresh_[e], 0};
        } else {
            next = scratch[o++];
        }
        if (next.n.index == last) continue;
        last = next.n.index;
        scratch.push_back(next);
    }
    for (std::size_t e = offered; e < scratch.size(); ++e) {
        const auto to = at + (e - offered);
        index_[to] = scratch[e].n.index;
        distance_[to] = scratch[e].n.distance;
        fresh_[to] = scratch[e].flags;
    }
}

index_t Search::take_recent() {
    return static_cast<index_t>(parallel_sum(static_cast<index_t>(fresh_.size()), threads_, [&](index_t b, index_t e) {
        index_t recent = 0;
        for (index_t s = b; s < e; ++s) {
            std::uint8_t& flags = fresh_[static_cast<std::size_t>(s)];
            recent += (flags & recent_bit) != 0 ? 1 : 0;
            flags &= static_cast<std::uint8_t>(~recent_bit);
        }
        return static_cast<double>(recent);
    }));
}

namespace {

// A reverse link as sent: own row `from` holds v (fresh: the entry's fresh flag).
struct ReverseLink {
    point_t v, from;
    std::uint32_t fresh;
};

}  // namespace

// The reverse links of the own points at a round's start: the rows (of any rank) that hold each, with
// the entry's fresh flag, at most reverse_cap per point: those with the smallest hash of (round, v, u).
// Sent in rounds of at most reverse_batch links a rank; each owner keeps the best of what it has.
Search::Reverse Search::reverse_links(std::uint64_t seed, index_t which, const Phase& phase) const {
    Reverse r;
    r.cap = p_.reverse_cap;
    const auto size = static_cast<index_t>(phase.points.size());
    r.count.assign(static_cast<std::size_t>(size), 0);
    r.from.resize(static_cast<std::size_t>(size * r.cap));
    r.fresh.resize(static_cast<std::size_t>(size * r.cap));
    const index_t per_round = std::max<index_t>(1, reverse_batch / std::max<index_t>(k_, 1));
    const index_t rounds = largest_of(c_, (m_ + per_round - 1) / per_round);
    for (index_t round = 0; round < rounds; ++round) {
        const index_t lo = std::min(m_, round * per_round), hi = std::min(m_, lo + per_round);
        std::vector<std::vector<unsigned char>> out(static_cast<std::size_t>(c_.size()));
        for (index_t i = lo; i < hi; ++i)
            for (index_t e = 0; e < k_ && index_[static_cast<std::size_t>(i * k_ + e)] != no_point; ++e) {
                const auto at = static_cast<std::size_t>(i * k_ + e);
                if (!in_phase(index_[at], seed, which)) continue;
                put(out[static_cast<std::size_t>(rows_.owner(index_[at]))],
                    ReverseLink{index_[at], static_cast<point_t>(first_ + i), static_cast<std::uint32_t>(fresh_[at] & fresh_bit)});
            }
        const std::vector<unsigned char> in = c_.exchange(out);
        std::vector<std::vector<unsigned char>>().swap(out);
        keep_links(r, seed, in, phase.slot);
    }
    return r;
}

// Merges received links (ReverseLink records) into the kept links of each own point (at its slot): the
// reverse_cap smallest by (priority, source), kept in that order.
void Search::keep_links(Reverse& r, std::uint64_t seed, const std::vector<unsigned char>& in,
                        const std::vector<index_t>& slots) const {
    struct Ranked {  // a link and its priority, computed once (not in every comparison)
        std::uint64_t priority;
        point_t v, from;
        std::uint8_t fresh;
    };
    auto before = [](const Ranked& a, const Ranked& b) {
        if (a.v != b.v) return a.v < b.v;
        return a.priority < b.priority || (a.priority == b.priority && a.from < b.from);
    };
    std::vector<Ranked> links(in.size() / sizeof(ReverseLink));
    Reader read(in);
    for (Ranked& l : links) {
        const auto link = read.get<ReverseLink>();
        l = {draw(seed ^ link.v, link.from), link.v, link.from, static_cast<std::uint8_t>(link.fresh)};
    }
    std::sort(links.begin(), links.end(), before);
    std::vector<Ranked> merged;
    for (std::size_t e = 0; e < links.size();) {
        const point_t v = links[e].v;
        std::size_t end = e;
        while (end < links.size() && links[end].v == v) ++end;
        const index_t slot = slots[static_cast<std::size_t>(v - first_)];
        const auto at = static_cast<std::size_t>(slot * r.cap);
        index_t& count = r.count[static_cast<std::size_t>(slot)];
        merged.clear();
        for (index_t s = 0; s < count; ++s) {
            const point_t from = r.from[at + static_cast<std::size_t>(s)];
            merged.push_back({draw(seed ^ v, from), v, from, r.fresh[at + static_cast<std::size_t>(s)]});
        }
        const auto middle = static_cast<std::ptrdiff_t>(merged.size());
        merged.insert(merged.end(), links.begin() + static_cast<std::ptrdiff_t>(e), links.begin() + static_cast<std::ptrdiff_t>(end));
        std::inplace_merge(merged.begin(), merged.begin() + middle, merged.end(), before);
        count = std::min<index_t>(r.cap, static_cast<index_t>(merged.size()));
        for (index_t s = 0; s < count; ++s) {
            r.from[at + static_cast<std::size_t>(s)] = merged[static_cast<std::size_t>(s)].from;
            r.fresh[at + static_cast<std::size_t>(s)] = merged[static_cast<std::size_t>(s)].fresh;
        }
        e = end;
    }
}

// Own point v's new and old lists (at most `candidates` each, by a hash of (round, v, u)) from its row
// and reverse links, into list; the row's entries drawn into the new list are no longer fresh (only v's
// row changes: the lists of different points may be drawn in parallel). Returns (new, old) counts.
std::pair<index_t, index_t> Search::draw_lists(index_t v, index_t slot, std::uint64_t seed, const Reverse& reverse,
                                               point_t* list) {
    struct Entry {
        point_t point;
        bool fresh;
        index_t position;  // in v's row, or -1 for a reverse link only
        std::uint64_t priority;
    };
    std::vector<Entry> pool;
    const auto at = static_cast<std::size_t>(v * k_);
    for (index_t e = 0; e < k_ && index_[at + e] != no_point; ++e)
        pool.push_back({index_[at + e], (fresh_[at + e] & fresh_bit) != 0, e, 0});
    for (index_t e = 0; e < reverse.count[static_cast<std::size_t>(slot)]; ++e) {
        const auto link = static_cast<std::size_t>(slot * reverse.cap + e);
        pool.push_back({reverse.from[link], reverse.fresh[link] != 0, -1, 0});
    }
    // A point both in the row and among the reverse links counts once, new if either link is fresh.
    std::sort(pool.begin(), pool.end(), [](const Entry& a, const Entry& b) {
        return a.point < b.point || (a.point == b.point && a.position > b.position);
    });
    std::size_t kept = 0;
    for (std::size_t e = 0; e < pool.size(); ++e) {
        if (kept > 0 && pool[kept - 1].point == pool[e].point) {
            pool[kept - 1].fresh = pool[kept - 1].fresh || pool[e].fresh;
            continue;
        }
        pool[kept++] = pool[e];
    }
    pool.resize(kept);
    for (Entry& e : pool) e.priority = draw(seed ^ static_cast<std::uint64_t>(first_ + v), e.point);
    auto by_priority = [](const Entry& a, const Entry& b) {
        return a.priority < b.priority || (a.priority == b.priority && a.point < b.point);
    };
    const auto middle = std::partition(pool.begin(), pool.end(), [](const Entry& e) { return e.fresh; });
    const auto fresh_count = static_cast<index_t>(middle - pool.begin());
    const auto old_count = static_cast<index_t>(pool.end() - middle);
    const index_t take_new = std::min(fresh_count, p_.candidates), take_old = std::min(old_count, p_.candidates);
    std::nth_element(pool.begin(), pool.begin() + take_new, middle, by_priority);
    std::nth_element(middle, middle + take_old, pool.end(), by_priority);
    for (index_t e = 0; e < take_new; ++e) {
        const Entry& entry = pool[static_cast<std::size_t>(e)];
        list[e] = entry.point;
        if (entry.position >= 0) fresh_[at + entry.position] &= static_cast<std::uint8_t>(~fresh_bit);
    }
    for (index_t e = 0; e < take_old; ++e) list[take_new + e] = (middle + e)->point;
    return {take_new, take_old};
}

// Which of the join's points (the members, then v) each member's row holds: a small hash table of the
// columns, probed with each member's k entries (cheaper than a search per compared pair).
void Search::held_pairs(const point_t* list, index_t members, point_t v, const Fetched& f, JoinScratch& w) const {
    const index_t columns = members + 1;
    index_t size = 16;
    while (size < 4 * columns) size *= 2;
    w.keys.assign(static_cast<std::size_t>(size), no_point);
    w.column.resize(static_cast<std::size_t>(size));
    auto home = [size](point_t p) { return static_cast<index_t>((p * 0x9e3779b1u) >> 7) & (size - 1); };
    for (index_t c = 0; c < columns; ++c) {
        const point_t p = c == members ? v : list[c];
        index_t h = home(p);
        while (w.keys[static_cast<std::size_t>(h)] != no_point) h = (h + 1) & (size - 1);
        w.keys[static_cast<std::size_t>(h)] = p;
        w.column[static_cast<std::size_t>(h)] = c;
    }
    w.words = (columns + 63) / 64;
    w.held.assign(static_cast<std::size_t>(columns * w.words), 0);
    for (index_t a = 0; a < members; ++a) {
        const point_t* row = f.held_by(w.slot[static_cast<std::size_t>(a)]);
        for (index_t e = 0; e < f.k && row[e] != no_point; ++e)
            for (index_t h = home(row[e]); w.keys[static_cast<std::size_t>(h)] != no_point; h = (h + 1) & (size - 1))
                if (w.keys[static_cast<std::size_t>(h)] == row[e]) {
                    const index_t b = w.column[static_cast<std::size_t>(h)];
                    w.held[static_cast<std::size_t>(a * w.words + b / 64)] |= std::uint64_t{1} << (b % 64);
                    break;
                }
    }
}

// The local join of own point v: every pair of its lists with a new member is compared and each of the
// two offered to the other's row, v to its new members' rows. An offer is dropped when the row already
// holds it or when it is farther than the row's worst entry at the round's start (it could never
// enter). For euclidean, cosine and correlation a lane-wise screening distance (screen_distances) decides first;
// the pairs it cannot rule out get rank_distance(), the only distance an offer carries.
void Search::join(index_t v, const point_t* list, std::pair<index_t, index_t> count, const Fetched& f,
                  JoinScratch& w, std::vector<Offer>& out) const {
    const auto [fresh, old] = count;
    const index_t members = fresh + old, d = x_.cols;
    const bool screened = p_.metric == Metric::euclidean || detail::searches_metric_rows(p_.metric);
    const double slack = 1 + static_cast<double>(4 * d + 8) * 0x1p-53;
    w.slot.resize(static_cast<std::size_t>(members));
    for (index_t a = 0; a < members; ++a) w.slot[static_cast<std::size_t>(a)] = f.slot(list[a]);
    // The members and v (last) side by side: column c holds member c's coordinates.
    const index_t groups = (members + 1 + detail::kLanes - 1) / detail::kLanes, stride = groups * detail::kLanes;
    w.panel.resize(static_cast<std::size_t>(d * stride));
    for (index_t j = 0; j < d; ++j)  // the padding columns, screened but never read
        std::fill(w.panel.begin() + j * stride + members + 1, w.panel.begin() + (j + 1) * stride, 0.0);
    w.screen.resize(static_cast<std::size_t>(stride));
    auto coords = [&](index_t c) { return c == members ? x_.row(v) : f.row(w.slot[static_cast<std::size_t>(c)]); };
    for (index_t c = 0; c <= members; ++c)
        for (index_t j = 0; j < d; ++j) w.panel[static_cast<std::size_t>(j * stride + c)] = coords(c)[j];
    const auto g = static_cast<point_t>(first_ + v);
    held_pairs(list, members, g, f, w);
    for (index_t a = 0; a < fresh; ++a) {
        const index_t sa = w.slot[static_cast<std::size_t>(a)];
        const double wa = f.worst[static_cast<std::size_t>(sa)];
        if (screened) screen_distances(coords(a), w.panel.data(), stride, d, (a + 1) / detail::kLanes, groups, w.screen.data());
        for (index_t b = a + 1; b <= members; ++b) {
            const bool is_v = b == members;
            const index_t sb = is_v ? 0 : w.slot[static_cast<std::size_t>(b)];
            const double wb = is_v ? -1.0 : f.worst[static_cast<std::size_t>(sb)];  // v is offered nothing
            if (screened && w.screen[static_cast<std::size_t>(b)] > std::max(wa, wb) * slack) continue;
            const point_t pb = is_v ? g : list[b];
            const bool to_a = !w.holds(a, b), to_b = !is_v && !w.holds(b, a);
            if (!to_a && !to_b) continue;
            const double dab = distance(coords(a), coords(b));
            if (to_a && dab <= wa) out.push_back({dab, list[a], pb});
            if (to_b && dab <= wb) out.push_back({dab, list[b], list[a]});
        }
    }
}

// The joins of the phase's points [lo, hi) (possibly none): their members' rows fetched, the offers
// delivered.
void Search::join_batch_of(const Phase& phase, index_t lo, index_t hi) {
    const index_t width = 2 * p_.candidates;
    std::vector<point_t> wanted;
    for (index_t s = lo; s < hi; ++s) {
        const auto [fresh, old] = phase.counts[static_cast<std::size_t>(s)];
        wanted.insert(wanted.end(), phase.lists.begin() + s * width, phase.lists.begin() + s * width + fresh + old);
    }
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    Fetched& f = fetched_;
    fetch(wanted, true, f);
    std::vector<std::vector<Offer>> offers(static_cast<std::size_t>(hi - lo));
    parallel_for(hi - lo, threads_, [&](index_t b, index_t e) {
        JoinScratch w;
        for (index_t s = lo + b; s < lo + e; ++s)
            join(phase.points[static_cast<std::size_t>(s)], phase.lists.data() + s * width,
                 phase.counts[static_cast<std::size_t>(s)], f, w, offers[static_cast<std::size_t>(s - lo)]);
    });
    offers_.clear();
    for (auto& o : offers) {
        offers_.insert(offers_.end(), o.begin(), o.end());
        std::vector<Offer>().swap(o);
    }
    deliver(offers_);
}

// The batches of a phase: positions in its points where a batch starts (and its size last), each batch
// as long as it has at most batch_points points and batch_rows distinct candidates (one point always
// fits).
std::vector<index_t> Search::batch_cuts(const Phase& phase) const {
    const index_t width = 2 * p_.candidates, size = static_cast<index_t>(phase.points.size());
    std::vector<index_t> cuts{0};
    std::unordered_set<point_t> seen;
    seen.reserve(static_cast<std::size_t>(batch_rows) * 2);
    for (index_t s = 0; s < size; ++s) {
        const point_t* list = phase.lists.data() + s * width;
        const index_t members = phase.counts[static_cast<std::size_t>(s)].first + phase.counts[static_cast<std::size_t>(s)].second;
        index_t added = 0;
        for (index_t c = 0; c < members; ++c) added += seen.count(list[c]) == 0 ? 1 : 0;
        const bool full = static_cast<index_t>(seen.size()) + added > batch_rows || s - cuts.back() == batch_points;
        if (full && s > cuts.back()) {
            cuts.push_back(s);
            seen.clear();
        }
        seen.insert(list, list + members);
    }
    cuts.push_back(size);
    return cuts;
}

bool Search::in_phase(point_t g, std::uint64_t seed, index_t phase) const {
    return static_cast<index_t>(draw(seed ^ 0x7068617365ull, g) % round_phases) == phase;
}

// One phase of a round: the lists of the phase's own points drawn from the graph as it is now, then
// their joins in batches (as many on every rank: the largest count of any).
void Search::join_phase(std::uint64_t seed, index_t which) {
    Phase phase;
    phase.slot.assign(static_cast<std::size_t>(m_), -1);
    for (const index_t v : order_)
        if (in_phase(static_cast<point_t>(first_ + v), seed, which)) {
            phase.slot[static_cast<std::size_t>(v)] = static_cast<index_t>(phase.points.size());
            phase.points.push_back(v);
        }
    const auto size = static_cast<index_t>(phase.points.size());
    const index_t width = 2 * p_.candidates;
    phase.lists.resize(static_cast<std::size_t>(size * width));
    phase.counts.resize(static_cast<std::size_t>(size));
    {
        const Reverse reverse = reverse_links(seed, which, phase);
        parallel_for(size, threads_, [&](index_t b, index_t e) {
            for (index_t s = b; s < e; ++s)
                phase.counts[static_cast<std::size_t>(s)] =
                    draw_lists(phase.points[static_cast<std::size_t>(s)], s, seed, reverse, phase.lists.data() + s * width);
        });
    }
    const std::vector<index_t> cuts = batch_cuts(phase);
    const index_t batches = largest_of(c_, static_cast<index_t>(cuts.size()) - 1);
    for (index_t b = 0; b < batches; ++b) {
        const index_t lo = b + 1 < static_cast<index_t>(cuts.size()) ? cuts[static_cast<std::size_t>(b)] : size;
        const index_t hi = b + 1 < static_cast<index_t>(cuts.size()) ? cuts[static_cast<std::size_t>(b) + 1] : size;
        join_batch_of(phase, lo, hi);
    }
    release_buffers();
}

// One round: its phases one after the other. Returns the entries inserted into own rows in the round
// (and still there).
index_t Search::round(index_t r) {
    const std::uint64_t seed = draw(dist_seed, ~static_cast<std::uint64_t>(r));
    for (index_t phase = 0; phase < round_phases; ++phase) join_phase(seed, phase);
    return take_recent();
}

NeighborGraph Search::take_graph() {
    NeighborGraph graph;
    graph.n = m_;
    graph.k = k_;
    std::vector<std::uint8_t>().swap(fresh_);
    for (double& d : distance_) d = detail::reported_distance(p_.metric, d);
    graph.indices = std::move(index_);
    graph.distances = std::move(distance_);
    return graph;
}

}  // namespace nnd

using nnd::Search;
using nnd::batch_points;
using nnd::batch_rows;
using nnd::leaf_batch;
using nnd::reverse_batch;
using nnd::forest_share;
using nnd::sum_of;
using detail::NndescentParameters;

bool nndescent_exact(index_t n, index_t k, const NndescentParameters& p) {
    return n <= std::max<index_t>(4 * (k + 1), p.leaf_size);
}

NeighborGraph nndescent_rows(Collective& collective, ConstMatrixView own, const RowPartition& rows, index_t k,
                             const NndescentParameters& p, int threads, const std::function<void(double)>& progress) {
    const index_t n = rows.first.back();
    Search search(collective, own, rows, k, p, threads);
    search.forest(progress);
    search.fill();
    for (index_t r = 0; r < p.rounds; ++r) {
        const index_t changed = sum_of(collective, search.round(r));
        if (progress) progress(forest_share + (1 - forest_share) * static_cast<double>(r + 1) / static_cast<double>(p.rounds));
        if (static_cast<double>(changed) <= p.stop_fraction * static_cast<double>(n * k)) break;
    }
    if (progress) progress(1.0);
    return search.take_graph();
}

void write_graph_indices(Collective& collective, const NeighborGraph& own, index_t n, const std::string& path) {
    std::vector<std::vector<unsigned char>> out(static_cast<std::size_t>(collective.size()));
    put(out[0], own.indices.data(), own.indices.size());
    const std::vector<unsigned char> in = collective.exchange(out);
    if (collective.rank() != 0) return;
    std::vector<point_t> all(in.size() / sizeof(point_t));
    Reader(in).copy(all.data(), all.size());
    Matrix m(n, own.k);
    for (std::size_t e = 0; e < all.size(); ++e) m.data()[e] = static_cast<double>(all[e]);
    io::write_matrix(path, m.view());
}

double nndescent_rank_bytes(double n, double rows, double d, double k, const NndescentParameters& p) {
    const double c = static_cast<double>(p.candidates), cap = static_cast<double>(p.reverse_cap);
    // Graph rows (13 bytes an entry) and the join order and phase slots (16 bytes a row); then the
    // larger of the forest's node and leaf numbers (16 bytes a point and tree) and a phase's lists,
    // counts and kept reverse links.
    const double held = rows * (13 * k + 16);
    const double phase = rows / static_cast<double>(nnd::round_phases) * (2 * c * 4 + 24 + cap * 5 + 8);
    const double working = std::max(rows * 16 * static_cast<double>(p.trees), phase);
    // The largest round of an exchange: reverse links (12 bytes sent, 12 received, 24 sorted), a round
    // of leaves (each member's row sent, received and listed; its offers sorted, received and merged),
    // or a batch of joins (its candidates' rows, worst distances and entries as the answer, as received
    // and as rows; its offers, at most 4 k a point (measured: Fashion-MNIST, k = 90, the first round,
    // about 260 a point at the most), sent and received).
    const double reverse = static_cast<double>(reverse_batch) * 48;
    const double leaves = std::min(n, static_cast<double>(leaf_batch)) * ((8 + 8 * d) * 2 + 24 + k * 16 * 3);
    const double batch = std::min(n, static_cast<double>(batch_rows)) * (8 * d + 8 + 4 * k) * 3 +
                         std::min(rows, static_cast<double>(batch_points)) * 4 * k * 16 * 2;
    return held + working + std::max({reverse, leaves, batch});
}

}  // namespace treesne::dist

// Step 3 of the nndescent backend: NN-descent's local join (Dong, Moses & Li 2011), round by round and
// block by block, deterministic for any thread count. See nndescent.cpp for the whole algorithm.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "knn/nndescent_internal.hpp"
#include "treesne/core/errors.hpp"

namespace treesne::detail::nndescent {
namespace {

// Reverse neighbours: R(v) = points whose row holds v, at most `cap` per point, each with the fresh
// flag of its entry. Built serially from the graph at the start of a round: O(N k), small next to the
// round itself. Most points have more than `cap` reverse neighbours (the average is k), and which are
// kept matters. A point that few rows hold (in high dimension many points are such "antihubs") takes
// part in other points' local joins only through the reverse lists of its own neighbours, and those
// tend to be held by many rows: so the sources held by fewer than k / 2 rows are kept first, then the
// others. Within each class the rows are scanned in a different pseudo-random order every round, so
// that every reverse link gets its turn (in index order the high indices would never be kept).
struct ReverseLists {
    index_t cap = 0;
    std::vector<point_t> points;       // N cap
    // Per point: how many entries its list holds, and which of them are fresh links (bit c: the c-th),
    // side by side so that the serial build touches one cache line a point for both (cap <= 32).
    struct Head {
        std::uint32_t size, fresh;
    };
    std::vector<Head> heads;  // N
    std::vector<std::uint32_t> held;   // N: how many rows hold each point

    bool is_fresh(index_t v, index_t q) const { return (heads[static_cast<std::size_t>(v)].fresh >> q) & 1; }

    void build(const Rows& rows, std::uint64_t round_seed) {
        const index_t n = rows.n(), k = rows.k();
        if (points.empty()) {
            reserve_huge(points, static_cast<std::size_t>(n * cap));
        }
        points.resize(static_cast<std::size_t>(n * cap));
        heads.assign(static_cast<std::size_t>(n), Head{0, 0});
        if (cap == 0) return;
        held.assign(static_cast<std::size_t>(n), 0);
        for (index_t i = 0; i < n; ++i) {
            const point_t* row = rows.indices(i);
            for (index_t p = 0; p < k && row[p] != no_point; ++p) ++held[row[p]];
        }
        // i = (offset + j step) mod N visits every row once when gcd(step, N) = 1.
        const auto un = static_cast<std::uint64_t>(n);
        std::uint64_t step = round_seed % un;
        while (std::gcd(step, un) != 1) step = (step + 1) % un;
        const std::uint64_t offset = draw(round_seed, 1) % un;
        const auto rare = static_cast<std::uint32_t>(k / 2);
        for (const bool first_pass : {true, false}) {
            std::uint64_t i = offset;
            for (index_t j = 0; j < n; ++j, i = (i + step) % un) {
                if ((held[i] < rare) != first_pass) continue;
                const point_t* row = rows.indices(static_cast<index_t>(i));
                for (index_t p = 0; p < k && row[p] != no_point; ++p) {
                    Head& h = heads[row[p]];
                    if (h.size < cap) {
                        const auto slot = static_cast<std::size_t>(static_cast<index_t>(row[p]) * cap + h.size);
                        points[slot] = static_cast<point_t>(i);
                        h.fresh |= static_cast<std::uint32_t>(rows.is_fresh(static_cast<index_t>(i), p)) << h.size;
                        ++h.size;
                    }
                }
            }
        }
    }
};

// One block of one round, over dense (Points, Panel) or sparse (SparsePoints, SparsePanel) rows.
template <class Set>
class Joiner {
  public:
    Joiner(const Set& x, index_t candidates, std::uint64_t round_seed)
        : x_(x), candidates_(candidates), seed_(round_seed) {}

    // Draws the new and old lists of v from its row and reverse list into list[0, 2 candidates), marks
    // the forward entries drawn into the new list as no longer fresh; returns (new count, old count).
    std::pair<index_t, index_t> draw_lists(index_t v, Rows& rows, const ReverseLists& reverse, point_t* list) {
        const index_t k = rows.k();
        const point_t* row = rows.indices(v);
        pool_.clear();
        for (index_t p = 0; p < k && row[p] != no_point; ++p)
            pool_.push_back({row[p], rows.is_fresh(v, p), p});
        const index_t cap = reverse.cap;
        const std::uint32_t count = reverse.heads[static_cast<std::size_t>(v)].size;
        for (index_t q = 0; q < count; ++q) {
            const auto slot = static_cast<std::size_t>(v * cap + q);
            pool_.push_back({reverse.points[slot], reverse.is_fresh(v, q), -1});
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
            if (entry.position >= 0) rows.clear_fresh(v, entry.position);
        }
        for (index_t e = 0; e < take_old; ++e) list[take_new + e] = (middle + e)->point;
        return {take_new, take_old};
    }

    // The local join of v: every pair of its lists with a new member is compared, and each of the two
    // is offered to the other's row; v is offered to its new members' rows. A pair is offered only if it
    // is not farther than the row's worst entry at the start of the join (the worst entry only
    // improves, so a farther one could never enter); the offers to each member are then merged into its
    // row at once, under the row's lock. Returns the number of distances computed.
    index_t join(index_t v, point_t* list, index_t new_count, index_t old_count, Rows& rows) {
        const index_t m = new_count + old_count;
        list[m] = static_cast<point_t>(v);  // v goes last: its new members are offered v
        if (static_cast<index_t>(offers_.size()) < m) offers_.resize(static_cast<std::size_t>(m));
        worst_.resize(static_cast<std::size_t>(m));
        for (index_t a = 0; a < m; ++a) {
            worst_[static_cast<std::size_t>(a)] = rows.worst(list[a]);
            offers_[static_cast<std::size_t>(a)].clear();
        }
        // The members' rows are merged into at the end: start loading them.
        for (index_t a = 0; a < m; ++a) {
            const char* row = reinterpret_cast<const char*>(rows.distances(list[a]));
            const char* ids = reinterpret_cast<const char*>(rows.indices(list[a]));
            for (index_t line = 0; line < rows.k() * 4; line += 64) {
                __builtin_prefetch(row + line);
                __builtin_prefetch(ids + line);
            }
        }
        panel_.gather(x_, list, m + 1);
        auto offer = [&](index_t to, point_t point, float d) { offers_[static_cast<std::size_t>(to)].push_back({d, point}); };
        index_t computed = 0;
        for (index_t a = 0; a < new_count; ++a) {
            const double* d = panel_.distances_of(x_, list, a, a + 1);
            const float worst_a = worst_[static_cast<std::size_t>(a)];
            const auto dv = static_cast<float>(d[m]);
            if (dv <= worst_a) offer(a, static_cast<point_t>(v), dv);
            for (index_t b = a + 1; b < m; ++b) {
                const auto dab = static_cast<float>(d[b]);
                if (dab <= worst_a) offer(a, list[b], dab);
                if (dab <= worst_[static_cast<std::size_t>(b)]) offer(b, list[a], dab);
            }
            computed += m - a;
        }
        for (index_t a = 0; a < m; ++a)
            if (!offers_[static_cast<std::size_t>(a)].empty())
                rows.merge_locked(list[a], offers_[static_cast<std::size_t>(a)], scratch_);
        return computed;
    }

  private:
    struct Entry {
        point_t point;
        bool fresh;
        index_t position;  // in v's row, or -1 for a reverse link only
        std::uint64_t priority = 0;
    };
    const Set& x_;
    index_t candidates_;
    std::uint64_t seed_;
    std::vector<Entry> pool_;
    typename PanelOf<Set>::type panel_;
    std::vector<float> worst_;
    std::vector<std::vector<Offer>> offers_;
    MergeScratch scratch_;
};

// The candidate lists of one block, reused by every block and round: each point's new and old lists
// side by side (`width` slots a point) and their lengths.
struct RoundLists {
    index_t block, width;
    std::vector<point_t> lists;
    std::vector<std::pair<index_t, index_t>> counts;

    RoundLists(index_t block_size, index_t candidates)
        : block(block_size),
          width(2 * candidates + 1),  // the new and old lists, and room for v
          lists(static_cast<std::size_t>(block * width)),
          counts(static_cast<std::size_t>(block)) {}
};

// One round's local joins, block by block in label order (the spatial order of the first tree): all
// lists of a block are drawn first (drawing changes the flags of the block's own rows, which the joins
// may read and write), then the block's joins run in parallel. Returns the distances computed.
template <class Set>
index_t join_round(const Set& x, Rows& rows, const ReverseLists& reverse, const NndescentParameters& p,
                   std::uint64_t round_seed, int threads, RoundLists& buffers) {
    const index_t n = rows.n();
    const index_t block = buffers.block, width = buffers.width;
    std::vector<point_t>& lists = buffers.lists;
    std::vector<std::pair<index_t, index_t>>& counts = buffers.counts;
    std::atomic<index_t> computed{0};
    for (index_t b0 = 0; b0 < n; b0 += block) {
        const index_t size = std::min(block, n - b0);
        parallel_for(size, threads, [&](index_t begin, index_t end) {
            Joiner<Set> joiner(x, p.candidates, round_seed);
            for (index_t s = begin; s < end; ++s)
                counts[static_cast<std::size_t>(s)] =
                    joiner.draw_lists(b0 + s, rows, reverse, lists.data() + s * width);
        });
        parallel_for(size, threads, [&](index_t begin, index_t end) {
            Joiner<Set> joiner(x, p.candidates, round_seed);
            index_t local_computed = 0;
            for (index_t s = begin; s < end; ++s) {
                const auto [fresh_count, old_count] = counts[static_cast<std::size_t>(s)];
                local_computed += joiner.join(b0 + s, lists.data() + s * width, fresh_count, old_count, rows);
            }
            computed += local_computed;
        });
    }
    return computed.load();
}

// The entries inserted during this round and still there; their marks are cleared for the next round.
index_t take_recent(Rows& rows, int threads) {
    return static_cast<index_t>(parallel_sum(rows.n(), threads, [&](index_t begin, index_t end) {
        return static_cast<double>(rows.take_recent(begin, end));
    }));
}

}  // namespace

template <class Set>
void refine_rows(const Set& x, Rows& rows, const NndescentParameters& p, int threads, NndescentReport& r,
                 const std::function<void(index_t)>& round_done) {
    ReverseLists reverse;
    reverse.cap = p.reverse_cap;
    require(reverse.cap >= 0 && reverse.cap <= 32, "nndescent: at most 32 reverse neighbours a point; got ",
            reverse.cap);
    RoundLists buffers(std::min(p.block, rows.n()), p.candidates);
    for (index_t round = 0; round < p.rounds; ++round) {
        const std::uint64_t round_seed = draw(nndescent_seed, ~static_cast<std::uint64_t>(round));
        reverse.build(rows, round_seed);
        const index_t computed = join_round(x, rows, reverse, p, round_seed, threads, buffers);
        const index_t changed = take_recent(rows, threads);
        r.changes.push_back(changed);
        r.distances.push_back(computed);
        ++r.rounds;
        round_done(round);
        if (static_cast<double>(changed) <= p.stop_fraction * static_cast<double>(rows.n() * rows.k())) break;
    }
}

void refine(const Points& x, Rows& rows, const NndescentParameters& p, int threads, NndescentReport& r,
            const std::function<void(index_t)>& round_done) {
    refine_rows(x, rows, p, threads, r, round_done);
}

void refine(const SparsePoints& x, Rows& rows, const NndescentParameters& p, int threads, NndescentReport& r,
            const std::function<void(index_t)>& round_done) {
    refine_rows(x, rows, p, threads, r, round_done);
}

}  // namespace treesne::detail::nndescent

// The distributed nndescent's first graph (nndescent.cpp, step 1): the random-projection trees built
// level by level across the ranks, each leaf's members offered their nearest leaf-mates, and the rows
// still short of k filled with hashed random points.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include "dist/bytes.hpp"
#include "dist/nndescent_search.hpp"
#include "treesne/core/parallel.hpp"

namespace treesne::dist::nnd {

namespace {

// A node of a tree at one level: its member count and its two members with the smallest hashes.
struct Summary {
    index_t count;
    std::uint64_t h1, h2;
    point_t p1, p2;
    void keep(std::uint64_t h, point_t p) {  // the two smallest (hash, point)
        if (h < h1 || (h == h1 && p < p1)) {
            h2 = h1, p2 = p1, h1 = h, p1 = p;
        } else if (h < h2 || (h == h2 && p < p2)) {
            h2 = h, p2 = p;
        }
    }
};
constexpr Summary no_summary{0, ~0ull, ~0ull, no_point, no_point};

// Every tree's active nodes' summaries over all ranks, on every rank, from one exchange: each rank's
// own summaries of every tree sent to all. node[t][i]: own point i's node in tree t, or -1 once it is in
// a leaf; active[t]: tree t's nodes at this level; first: the global index of own point 0.
std::vector<std::vector<Summary>> summaries(Collective& c, const std::vector<std::vector<index_t>>& node,
                                            const std::vector<index_t>& active, const std::vector<std::uint64_t>& seed,
                                            index_t first) {
    std::vector<unsigned char> bytes;
    for (std::size_t t = 0; t < node.size(); ++t) {
        std::vector<Summary> own(static_cast<std::size_t>(active[t]), no_summary);
        for (std::size_t i = 0; i < node[t].size(); ++i)
            if (node[t][i] >= 0) {
                Summary& s = own[static_cast<std::size_t>(node[t][i])];
                ++s.count;
                const auto g = static_cast<point_t>(first + static_cast<index_t>(i));
                s.keep(draw(seed[t], g), g);
            }
        put(bytes, own.data(), own.size());
    }
    const std::vector<unsigned char> all = c.exchange(std::vector<std::vector<unsigned char>>(static_cast<std::size_t>(c.size()), bytes));
    std::vector<std::vector<Summary>> node_of(node.size());
    for (std::size_t t = 0; t < node.size(); ++t) node_of[t].assign(static_cast<std::size_t>(active[t]), no_summary);
    Reader read(all);
    for (int r = 0; r < c.size(); ++r)
        for (auto& tree : node_of)
            for (Summary& s : tree) {
                const auto o = read.get<Summary>();
                s.count += o.count;
                if (o.count > 0) s.keep(o.h1, o.p1);
                if (o.count > 1) s.keep(o.h2, o.p2);
            }
    return node_of;
}

// One tree's plan for a level: each node of at most leaf_size points (any node at the last level) becomes
// leaf number `leaves++` (leaf_number), the others split (split: their number among the splitting nodes,
// whose children are 2 s and 2 s + 1) at their two pivots, appended to pivots. Returns the splits.
index_t plan_level(const std::vector<Summary>& node_of, index_t leaf_size, bool last, index_t& leaves,
                   std::vector<index_t>& split, std::vector<index_t>& leaf_number, std::vector<point_t>& pivots) {
    split.assign(node_of.size(), -1);
    leaf_number.assign(node_of.size(), -1);
    index_t splits = 0;
    for (std::size_t a = 0; a < node_of.size(); ++a) {
        if (node_of[a].count <= leaf_size || last) {
            leaf_number[a] = leaves++;
            continue;
        }
        split[a] = splits++;
        pivots.push_back(node_of[a].p1);
        pivots.push_back(node_of[a].p2);
    }
    return splits;
}

// A leaf's member as its rank received it: the row's bytes stay in the received buffer.
struct Member {
    index_t leaf;
    point_t point;
    const unsigned char* row;
};

// Offers each member of one leaf (members[0, size)) its k nearest leaf-mates: all pairs, each once
// (rank_distance is symmetric bit for bit). coords and pair are scratch.
void offer_leaf(const Member* members, index_t size, index_t d, index_t k, Metric metric, std::vector<double>& coords,
                std::vector<double>& pair, std::vector<Neighbor>& best, std::vector<Offer>& out) {
    coords.resize(static_cast<std::size_t>(size * d));
    for (index_t q = 0; q < size; ++q)  // aligned copies of the rows
        std::memcpy(coords.data() + q * d, members[q].row, static_cast<std::size_t>(d) * sizeof(double));
    pair.resize(static_cast<std::size_t>(size * size));
    for (index_t q = 0; q < size; ++q)
        for (index_t r = q + 1; r < size; ++r)
            pair[static_cast<std::size_t>(q * size + r)] = pair[static_cast<std::size_t>(r * size + q)] =
                detail::rank_distance(metric, coords.data() + q * d, coords.data() + r * d, d);
    for (index_t q = 0; q < size; ++q) {
        best.clear();
        for (index_t r = 0; r < size; ++r)
            if (r != q)
                best.push_back(detail::candidate(members[q].point, members[r].point, pair[static_cast<std::size_t>(q * size + r)]));
        const auto keep = std::min<std::size_t>(best.size(), static_cast<std::size_t>(k));
        std::partial_sort(best.begin(), best.begin() + static_cast<std::ptrdiff_t>(keep), best.end());
        for (std::size_t s = 0; s < keep; ++s) out.push_back({best[s].distance, members[q].point, best[s].index});
    }
}

}  // namespace

// Every tree's leaves (each own point's leaf number, per tree), the trees built together level by level:
// per level one exchange of every node's size and pivots (its two smallest hashes) and one fetch of the
// pivots' rows, for all trees at once.
std::vector<std::vector<index_t>> Search::forest_leaves(std::vector<index_t>& leaves) {
    const auto trees = static_cast<std::size_t>(p_.trees);
    std::vector<std::vector<index_t>> node(trees, std::vector<index_t>(static_cast<std::size_t>(m_), 0));
    std::vector<std::vector<index_t>> leaf(trees, std::vector<index_t>(static_cast<std::size_t>(m_), -1));
    std::vector<index_t> active(trees, 1), splits(trees);
    leaves.assign(trees, 0);
    std::vector<std::uint64_t> seed(trees);
    std::vector<std::vector<index_t>> split(trees), leaf_number(trees);
    for (index_t level = 0; *std::max_element(active.begin(), active.end()) > 0; ++level) {
        for (std::size_t t = 0; t < trees; ++t) seed[t] = draw(dist_seed ^ t, static_cast<std::uint64_t>(level));
        const std::vector<std::vector<Summary>> node_of = summaries(c_, node, active, seed, first_);
        std::vector<point_t> pivots;
        for (std::size_t t = 0; t < trees; ++t)
            splits[t] = plan_level(node_of[t], p_.leaf_size, level + 1 >= max_levels, leaves[t], split[t], leaf_number[t], pivots);
        std::sort(pivots.begin(), pivots.end());
        pivots.erase(std::unique(pivots.begin(), pivots.end()), pivots.end());
        Fetched f;
        fetch(pivots, false, f);
        for (std::size_t t = 0; t < trees; ++t) {
            for (index_t i = 0; i < m_; ++i) {
                index_t& a = node[t][static_cast<std::size_t>(i)];
                if (a < 0) continue;
                if (leaf_number[t][static_cast<std::size_t>(a)] >= 0) {
                    leaf[t][static_cast<std::size_t>(i)] = leaf_number[t][static_cast<std::size_t>(a)];
                    a = -1;
                    continue;
                }
                const Summary& s = node_of[t][static_cast<std::size_t>(a)];
                const double d1 = distance(x_.row(i), f.row(f.slot(s.p1))), d2 = distance(x_.row(i), f.row(f.slot(s.p2)));
                const bool right = d1 == d2 ? (draw(~seed[t], static_cast<std::uint64_t>(first_ + i)) & 1) != 0 : d2 < d1;
                a = 2 * split[t][static_cast<std::size_t>(a)] + (right ? 1 : 0);
            }
            active[t] = 2 * splits[t];
        }
    }
    return leaf;
}

// Sends each own point to its leaf's rank (leaf number mod R), which offers every member its k nearest
// leaf-mates (all pairs of the leaf, exact distances). In rounds of consecutive leaves, about
// leaf_batch R points a round (leaves hold at most leaf_size points), so that a rank's members and
// offers stay bounded.
void Search::leaf_offers(const std::vector<index_t>& leaf, index_t leaves) {
    const index_t per_round = std::max<index_t>(1, leaf_batch * c_.size() / std::max<index_t>(p_.leaf_size, 1));
    for (index_t first = 0; first < leaves; first += per_round) offer_leaves(first, std::min(leaves, first + per_round), leaf);
}

// One round of leaf_offers: the leaves [first_leaf, last_leaf).
void Search::offer_leaves(index_t first_leaf, index_t last_leaf, const std::vector<index_t>& leaf) {
    const int ranks = c_.size();
    ask_.prepare(ranks);
    for (index_t i = 0; i < m_; ++i) {
        const index_t l = leaf[static_cast<std::size_t>(i)];
        if (l < first_leaf || l >= last_leaf) continue;
        auto& bytes = ask_.to_each[static_cast<std::size_t>(l % ranks)];
        put(bytes, l);
        put(bytes, static_cast<point_t>(first_ + i));
        put(bytes, x_.row(i), static_cast<std::size_t>(x_.cols));
    }
    c_.exchange(ask_.to_each, ask_.in, nullptr);
    const std::vector<unsigned char>& in = ask_.in;
    const std::size_t record = sizeof(index_t) + sizeof(point_t) + static_cast<std::size_t>(x_.cols) * sizeof(double);
    std::vector<Member> members(in.size() / record);
    for (std::size_t e = 0; e < members.size(); ++e) {
        Reader read(in.data() + e * record, record);
        members[e].leaf = read.get<index_t>();
        members[e].point = read.get<point_t>();
        members[e].row = in.data() + e * record + sizeof(index_t) + sizeof(point_t);
    }
    std::sort(members.begin(), members.end(), [](const Member& a, const Member& b) {
        return a.leaf < b.leaf || (a.leaf == b.leaf && a.point < b.point);
    });
    std::vector<std::size_t> start{0};
    for (std::size_t e = 1; e <= members.size(); ++e)
        if (e == members.size() || members[e].leaf != members[e - 1].leaf) start.push_back(e);
    const auto groups = static_cast<index_t>(start.size()) - 1;
    std::vector<std::vector<Offer>> offers(static_cast<std::size_t>(std::max<index_t>(groups, 0)));
    parallel_for(groups, threads_, [&](index_t b, index_t e) {
        std::vector<double> coords, pair;
        std::vector<Neighbor> best;
        for (index_t g = b; g < e; ++g) {
            const std::size_t lo = start[static_cast<std::size_t>(g)];
            offer_leaf(members.data() + lo, static_cast<index_t>(start[static_cast<std::size_t>(g) + 1] - lo), x_.cols, k_,
                       p_.metric, coords, pair, best, offers[static_cast<std::size_t>(g)]);
        }
    });
    offers_.clear();
    for (auto& o : offers) {
        offers_.insert(offers_.end(), o.begin(), o.end());
        std::vector<Offer>().swap(o);
    }
    deliver(offers_);
}

void Search::forest(const std::function<void(double)>& progress) {
    std::vector<index_t> counts;  // each tree's leaves
    const std::vector<std::vector<index_t>> leaves = forest_leaves(counts);
    // The joins' order: the first tree's leaves (a batch of points in nearby leaves shares its candidates).
    order_.resize(static_cast<std::size_t>(m_));
    std::iota(order_.begin(), order_.end(), index_t{0});
    std::stable_sort(order_.begin(), order_.end(), [&](index_t a, index_t b) {
        return leaves.front()[static_cast<std::size_t>(a)] < leaves.front()[static_cast<std::size_t>(b)];
    });
    for (index_t t = 0; t < p_.trees; ++t) {
        leaf_offers(leaves[static_cast<std::size_t>(t)], counts[static_cast<std::size_t>(t)]);
        if (progress) progress(forest_share * static_cast<double>(t + 1) / static_cast<double>(p_.trees));
    }
    release_buffers();
    take_recent();
}

// Rows the forest left short of k (small leaves) get random points: the first draws of a hash of
// (row, attempt) that are not yet in the row. n > 4 (k + 1), so the draws end quickly.
void Search::fill() {
    std::vector<Offer> offers;
    std::vector<point_t> wanted;
    for (index_t i = 0; i < m_; ++i) {
        if (full(i)) continue;
        const auto at = static_cast<std::size_t>(i * k_);
        const point_t g = static_cast<point_t>(first_ + i);
        std::vector<point_t> have(index_.begin() + static_cast<std::ptrdiff_t>(at), index_.begin() + static_cast<std::ptrdiff_t>(at + k_));
        have.erase(std::remove(have.begin(), have.end(), no_point), have.end());
        for (std::uint64_t attempt = 0; static_cast<index_t>(have.size()) < k_; ++attempt) {
            const auto j = static_cast<point_t>(draw(dist_seed ^ g, attempt) % static_cast<std::uint64_t>(n_));
            if (j == g || std::find(have.begin(), have.end(), j) != have.end()) continue;
            have.push_back(j);
            offers.push_back({0.0, g, j});
            wanted.push_back(j);
        }
    }
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    Fetched f;
    fetch(wanted, false, f);
    for (Offer& o : offers) o.distance = distance(x_.row(o.target - first_), f.row(f.slot(o.point)));
    deliver(offers);
    release_buffers();
    take_recent();
    std::fill(fresh_.begin(), fresh_.end(), 1);
}

}  // namespace treesne::dist::nnd

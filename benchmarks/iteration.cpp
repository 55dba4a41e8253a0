// treesne_iteration: the cost of one Barnes-Hut iteration, stage by stage, on a fixed embedding.
//
//   treesne_iteration X.npy Y.npy [--threads T] [--reps R] [--theta 0.5] [--perplexity 30]
//                     [--sample S] [--seed 1] [--knn auto] [--save-p P.bin] [--load-p P.bin] [--run M]
//
// --save-p / --load-p keep P in a raw file (X is then not read: give - for it), so that builds of two
// commits time the very same P; --locality 1 relabels P and Y in locality_order(P), the order embed()
// optimises in (a saved P is in the input's); --run M instead runs a Session from Y for M iterations (default schedule)
// and prints the wall time per iteration.
//
// Computes P from X (neighbours with the automatic backend, perplexity calibration), then times on the
// embedding Y (N x 1, 2 or 3, e.g. the output of a full `treesne embed` run, or a snapshot of one): the
// tree build, the repulsion walk, the attraction over P, and the whole barnes_hut_gradient, each the
// median of R repetitions. Also reports the relative error of the repulsive force and of Z against the
// exact O(S N) sums on a seeded sample of S points, so a faster kernel can be checked for accuracy in
// the same run. Not part of ctest.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <string>
#include <vector>

#include "treesne/affinities/precomputed.hpp"
#include "treesne/tree/gradient.hpp"
#include "treesne/io/io.hpp"
#include "treesne/tree/space_tree.hpp"
#include "treesne/treesne.hpp"

// This build's library has Session::iteration_seconds (the harness is also built against older commits).
#define TREESNE_HAVE_ITERATION_SECONDS 1

namespace {

using treesne::index_t;
using treesne::Matrix;
using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Median wall time of reps calls of f; *cpu gets the median process CPU time (all threads) of the calls.
template <class F>
double time_median(int reps, F&& f, double* cpu = nullptr) {
    std::vector<double> t, c;
    for (int r = 0; r < reps; ++r) {
        const double c0 = cpu_seconds();
        const auto start = Clock::now();
        f();
        t.push_back(std::chrono::duration<double>(Clock::now() - start).count());
        c.push_back(cpu_seconds() - c0);
    }
    if (cpu) *cpu = median(c);
    return median(t);
}

struct Config {
    std::string x, y;
    int threads = 2;
    int reps = 9;
    double theta = 0.5;
    double perplexity = 30;
    index_t sample = 500;
    std::uint64_t seed = 1;
    std::string knn = "auto";
    std::string save_p, load_p;
    index_t run_iterations = 0;
    bool locality = false;  // --locality: P and Y relabelled in locality_order(P), as embed() runs them
    int packed = 0;  // --packed 1: P's columns packed (Packing::always); 2: both forms timed, alternated
};

// P as raw arrays: n, nnz (int64), offsets (int64), columns (uint32), values (float32). Written and read
// by this program only, so that two builds of it (two commits) run on the very same P.
void save_p(const std::string& path, const treesne::Affinities& p) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot write " + path);
    const std::int64_t head[2] = {p.n, static_cast<std::int64_t>(p.values.size())};
    std::vector<float> values(p.values.begin(), p.values.end());
    bool ok = std::fwrite(head, sizeof head, 1, f) == 1;
    ok = ok && std::fwrite(p.offsets.data(), sizeof(std::int64_t), p.offsets.size(), f) == p.offsets.size();
    ok = ok && std::fwrite(p.columns.data(), 4, p.columns.size(), f) == p.columns.size();
    ok = ok && std::fwrite(values.data(), 4, values.size(), f) == values.size();
    ok = std::fclose(f) == 0 && ok;
    if (!ok) throw std::runtime_error("cannot write " + path);
}

treesne::Affinities load_p(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw std::runtime_error("cannot read " + path);
    std::int64_t head[2] = {0, 0};
    bool ok = std::fread(head, sizeof head, 1, f) == 1;
    treesne::Affinities p;
    p.n = head[0];
    p.offsets.resize(static_cast<std::size_t>(head[0] + 1));
    p.columns.resize(static_cast<std::size_t>(head[1]));
    std::vector<float> values(static_cast<std::size_t>(head[1]));
    ok = ok && std::fread(p.offsets.data(), sizeof(std::int64_t), p.offsets.size(), f) == p.offsets.size();
    ok = ok && std::fread(p.columns.data(), 4, p.columns.size(), f) == p.columns.size();
    ok = ok && std::fread(values.data(), 4, values.size(), f) == values.size();
    std::fclose(f);
    if (!ok) throw std::runtime_error("cannot read " + path);
    p.values.assign(values.begin(), values.end());  // float or double, whichever this build's P holds
    return p;
}

// A Session over P from Y for run_iterations iterations with the default schedule: wall time per
// iteration and the final KL estimate.
int run_session(const Config& c, treesne::Affinities p, const Matrix& y) {
    treesne::Options o;
    o.dims = static_cast<int>(y.cols());
    o.threads = c.threads;
    o.optimizer.theta = c.theta;
    o.optimizer.iterations = c.run_iterations;
    treesne::Session session(std::move(p), y, o);
    const auto start = Clock::now();
    session.run(c.run_iterations);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("session: %lld iterations in %.2f s, %.2f ms per iteration, KL %.4f\n",
                static_cast<long long>(c.run_iterations), seconds,
                1e3 * seconds / static_cast<double>(c.run_iterations), session.kl());
#ifdef TREESNE_HAVE_ITERATION_SECONDS
    const treesne::IterationSeconds& t = session.iteration_seconds();
    const double per = 1e3 / static_cast<double>(std::max<index_t>(t.iterations, 1));
    std::printf("session stages, ms per iteration: tree %.2f, repulsion %.2f, attraction %.2f, step %.2f\n",
                per * t.tree, per * t.repulsion, per * t.attraction, per * t.step);
#endif
    return 0;
}

template <int Dim>
void run(const Config& c, const treesne::Affinities& p, const Matrix& y) {
    const index_t n = y.rows();
#if __has_include("treesne/affinities/packed.hpp")
    const treesne::PackedAffinities held =  // P as a Session holds it
        treesne::pack(p, c.threads, c.packed == 1 ? treesne::Packing::always : treesne::Packing::automatic);
#else
    const treesne::Affinities& held = p;  // an older commit's P
#endif
    treesne::SpaceTree<Dim> tree;
    Matrix forces(n, Dim), attraction(n, Dim), grad(n, Dim);
    double c_build, c_rep, c_attr, c_grad, c_kl;
    const double t_build = time_median(
        c.reps, [&] { tree.build(y, c.threads); }, &c_build);
    double z = 0;
    const double t_rep = time_median(
        c.reps, [&] { z = tree.repulsion(c.theta, forces.view(), c.threads); }, &c_rep);
    const double t_attr = time_median(
        c.reps, [&] { treesne::attractive_forces(held, y, attraction.view(), c.threads); }, &c_attr);
    const double t_grad = time_median(
        c.reps, [&] { treesne::barnes_hut_gradient<Dim>(held, y, tree, c.theta, 1.0, grad.view(), c.threads); },
        &c_grad);
    const double t_kl = time_median(
        c.reps, [&] { treesne::sparse_kl(held, y, z, c.threads); }, &c_kl);

    // Exact repulsion on a seeded sample, and exact Z (O(N^2) in blocks: affordable up to ~10^5).
    std::vector<index_t> rows;
    std::uint64_t state = c.seed;
    for (index_t s = 0; s < std::min(c.sample, n); ++s) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;  // LCG: any fixed sample will do
        rows.push_back(static_cast<index_t>((state >> 33) % static_cast<std::uint64_t>(n)));
    }
    double err2 = 0, ref2 = 0;
    for (index_t i : rows) {
        double f[Dim] = {};
        for (index_t j = 0; j < n; ++j) {
            if (j == i) continue;
            double d2 = 0, diff[Dim];
            for (int d = 0; d < Dim; ++d) {
                diff[d] = y(i, d) - y(j, d);
                d2 += diff[d] * diff[d];
            }
            const double q = 1.0 / (1.0 + d2);
            for (int d = 0; d < Dim; ++d) f[d] += q * q * diff[d];
        }
        for (int d = 0; d < Dim; ++d) {
            err2 += (forces(i, d) - f[d]) * (forces(i, d) - f[d]);
            ref2 += f[d] * f[d];
        }
    }
    std::printf("N %lld, dims %d, theta %.3g, threads %d, median of %d\n", static_cast<long long>(n), Dim,
                c.theta, c.threads, c.reps);
    std::printf("  stage          wall ms    cpu ms\n");
    std::printf("  tree build    %8.2f  %8.2f\n", 1e3 * t_build, 1e3 * c_build);
    std::printf("  repulsion     %8.2f  %8.2f\n", 1e3 * t_rep, 1e3 * c_rep);
    std::printf("  attraction    %8.2f  %8.2f\n", 1e3 * t_attr, 1e3 * c_attr);
    std::printf("  gradient      %8.2f  %8.2f  (build + repulsion + attraction)\n", 1e3 * t_grad,
                1e3 * c_grad);
    std::printf("  sparse KL     %8.2f  %8.2f\n", 1e3 * t_kl, 1e3 * c_kl);
    std::printf("  repulsion relative error on %zu sampled points: %.3e\n", rows.size(),
                std::sqrt(err2 / ref2));
    std::printf("  Z %.10e\n", z);
}

#if __has_include("treesne/affinities/packed.hpp")
/// --packed 2: the attraction and the sparse KL over P unpacked and packed, alternated rep by rep (on a
/// shared machine, side by side is the only fair comparison): medians and packed / unpacked.
template <int Dim>
void compare_packing(const Config& c, const treesne::Affinities& p, const Matrix& y) {
    const treesne::PackedAffinities forms[2] = {treesne::pack(p, c.threads, treesne::Packing::never),
                                                treesne::pack(p, c.threads, treesne::Packing::always)};
    Matrix out(y.rows(), Dim);
    std::vector<double> attraction[2], kl[2];
    double sums[2] = {0, 0};
    for (int r = 0; r < c.reps; ++r) {
        for (int f = 0; f < 2; ++f) {
            auto start = Clock::now();
            treesne::attractive_forces(forms[f], y, out.view(), c.threads);
            attraction[f].push_back(std::chrono::duration<double>(Clock::now() - start).count());
            start = Clock::now();
            sums[f] = treesne::sparse_kl(forms[f], y, 1.0, c.threads);
            kl[f].push_back(std::chrono::duration<double>(Clock::now() - start).count());
        }
    }
    const double mib = 1024.0 * 1024.0;  // the columns' memory: 32-bit columns, or offsets, first and where
    std::printf("N %lld, threads %d, %d alternated reps; columns %.1f MiB unpacked, %.1f MiB packed\n",
                static_cast<long long>(y.rows()), c.threads, c.reps,
                static_cast<double>(forms[0].columns.size() * sizeof(treesne::point_t)) / mib,
                static_cast<double>(forms[1].bytes.size() + forms[1].first.size() * sizeof(treesne::point_t) +
                                    forms[1].where.size() * sizeof(std::uint64_t)) / mib);
    std::printf("  attraction  unpacked %8.2f ms  packed %8.2f ms  ratio %.3f\n", 1e3 * median(attraction[0]),
                1e3 * median(attraction[1]), median(attraction[1]) / median(attraction[0]));
    std::printf("  sparse KL   unpacked %8.2f ms  packed %8.2f ms  ratio %.3f  (%s)\n", 1e3 * median(kl[0]),
                1e3 * median(kl[1]), median(kl[1]) / median(kl[0]), sums[0] == sums[1] ? "same bits" : "DIFFERENT");
}
#endif

/// Reads the options after X and Y into c; false (after a message) for an unknown one. An option without
/// a value at the end is ignored.
bool parse_options(int argc, char** argv, Config& c) {
    for (int a = 3; a + 1 < argc; a += 2) {
        const std::string k = argv[a];
        const char* v = argv[a + 1];
        if (k == "--threads")
            c.threads = std::atoi(v);
        else if (k == "--reps")
            c.reps = std::atoi(v);
        else if (k == "--theta")
            c.theta = std::atof(v);
        else if (k == "--perplexity")
            c.perplexity = std::atof(v);
        else if (k == "--sample")
            c.sample = std::atoll(v);
        else if (k == "--seed")
            c.seed = std::strtoull(v, nullptr, 10);
        else if (k == "--knn")
            c.knn = v;
        else if (k == "--save-p")
            c.save_p = v;
        else if (k == "--load-p")
            c.load_p = v;
        else if (k == "--run")
            c.run_iterations = std::atoll(v);
        else if (k == "--locality")
            c.locality = std::atoi(v) != 0;
        else if (k == "--packed")
            c.packed = std::atoi(v);
        else {
            std::fprintf(stderr, "treesne_iteration: unknown option %s\n", k.c_str());
            return false;
        }
    }
    return true;
}

/// P of X at c.perplexity (or as saved by --save-p, with --load-p).
treesne::Affinities affinities_for(const Config& c) {
    if (!c.load_p.empty()) return load_p(c.load_p);
    const Matrix x = treesne::io::read_matrix(c.x);
    const index_t k = std::min<index_t>(x.rows() - 1, static_cast<index_t>(3 * c.perplexity));
    const auto backend = treesne::parse_backend(c.knn);
    if (!backend) throw std::runtime_error("unknown --knn " + c.knn);
    auto graph = treesne::nearest_neighbors(x, k, *backend, c.threads);
    treesne::AffinityOptions ao;
    ao.perplexity = c.perplexity;
    return treesne::compute_affinities(std::move(graph), ao, c.threads);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: treesne_iteration X.npy Y.npy [--threads T] [--reps R] [--theta T] "
                     "[--perplexity P] [--sample S] [--seed S] [--knn K] [--save-p F] [--load-p F] [--run I] "
                     "[--locality 1] [--packed 1|2]\n");
        return 2;
    }
    Config c;
    c.x = argv[1];
    c.y = argv[2];
    if (!parse_options(argc, argv, c)) return 2;
    try {
        Matrix y = treesne::io::read_matrix(c.y);
        const auto start = Clock::now();
        treesne::Affinities p = affinities_for(c);
        if (c.locality) {  // the order embed() optimises in
            const std::vector<treesne::point_t> order = treesne::locality_order(p);
            p = treesne::relabel(p, order, c.threads);
            Matrix relabelled(y.rows(), y.cols());
            for (index_t r = 0; r < y.rows(); ++r)
                for (index_t d = 0; d < y.cols(); ++d) relabelled(r, d) = y(static_cast<index_t>(order[static_cast<std::size_t>(r)]), d);
            y = std::move(relabelled);
        }
        std::printf("P: %lld nonzeros in %.2f s\n", static_cast<long long>(p.values.size()),
                    std::chrono::duration<double>(Clock::now() - start).count());
        if (!c.save_p.empty()) save_p(c.save_p, p);
        if (c.run_iterations > 0) return run_session(c, std::move(p), y);
#if __has_include("treesne/affinities/packed.hpp")
        if (c.packed == 2) {
            if (y.cols() == 1) compare_packing<1>(c, p, y);
            if (y.cols() == 2) compare_packing<2>(c, p, y);
            if (y.cols() == 3) compare_packing<3>(c, p, y);
            return 0;
        }
#endif
        switch (y.cols()) {
            case 1:
                run<1>(c, p, y);
                break;
            case 2:
                run<2>(c, p, y);
                break;
            case 3:
                run<3>(c, p, y);
                break;
            default:
                std::fprintf(stderr, "Y must have 1, 2 or 3 columns\n");
                return 2;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "treesne_iteration: %s\n", e.what());
        return 1;
    }
    return 0;
}

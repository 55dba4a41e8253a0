// treesne_iteration: the cost of one Barnes-Hut iteration, stage by stage, on a fixed embedding.
//
//   treesne_iteration X.npy Y.npy [--threads T] [--reps R] [--theta 0.5] [--perplexity 30]
//                     [--sample S] [--seed 1]
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
#include <string>
#include <vector>

#include "treesne/gradient.hpp"
#include "treesne/io.hpp"
#include "treesne/space_tree.hpp"
#include "treesne/treesne.hpp"

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
};

template <int Dim>
void run(const Config& c, const treesne::Affinities& p, const Matrix& y) {
    const index_t n = y.rows();
    treesne::SpaceTree<Dim> tree;
    Matrix forces(n, Dim), attraction(n, Dim), grad(n, Dim);
    double c_build, c_rep, c_attr, c_grad, c_kl;
    const double t_build = time_median(
        c.reps, [&] { tree.build(y, c.threads); }, &c_build);
    double z = 0;
    const double t_rep = time_median(
        c.reps, [&] { z = tree.repulsion(c.theta, forces.view(), c.threads); }, &c_rep);
    const double t_attr = time_median(
        c.reps, [&] { treesne::attractive_forces(p, y, attraction.view(), c.threads); }, &c_attr);
    const double t_grad = time_median(
        c.reps, [&] { treesne::barnes_hut_gradient<Dim>(p, y, tree, c.theta, 1.0, grad.view(), c.threads); },
        &c_grad);
    const double t_kl = time_median(
        c.reps, [&] { treesne::sparse_kl(p, y, z, c.threads); }, &c_kl);

    // Exact repulsion on a seeded sample, and exact Z (O(N^2) in blocks: affordable up to ~10^5).
    std::vector<index_t> rows;
    std::uint64_t state = c.seed;
    for (index_t s = 0; s < std::min(c.sample, n); ++s) {
        state = treesne::splitmix64(state);
        rows.push_back(static_cast<index_t>(state % static_cast<std::uint64_t>(n)));
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

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: treesne_iteration X.npy Y.npy [--threads T] [--reps R] [--theta T] "
                     "[--perplexity P] [--sample S] [--seed S]\n");
        return 2;
    }
    Config c;
    c.x = argv[1];
    c.y = argv[2];
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
        else {
            std::fprintf(stderr, "treesne_iteration: unknown option %s\n", k.c_str());
            return 2;
        }
    }
    try {
        const Matrix x = treesne::io::read_matrix(c.x);
        const Matrix y = treesne::io::read_matrix(c.y);
        const index_t k = std::min<index_t>(x.rows() - 1, static_cast<index_t>(3 * c.perplexity));
        const auto start = Clock::now();
        const auto graph = treesne::nearest_neighbors(x, k, treesne::KnnBackend::automatic, c.threads);
        treesne::AffinityOptions ao;
        ao.perplexity = c.perplexity;
        const auto p = treesne::compute_affinities(graph, ao, c.threads);
        std::printf("P: %lld nonzeros in %.2f s\n", static_cast<long long>(p.values.size()),
                    std::chrono::duration<double>(Clock::now() - start).count());
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

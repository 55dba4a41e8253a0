// embed(): the one-call pipeline, PCA -> neighbours -> affinities -> init -> optimisation.
#include <chrono>
#include <cmath>

#include "treesne/treesne.hpp"

namespace treesne {
namespace {

class Stage {
public:
    Stage(const Callbacks& callbacks, const char* name, double& slot)
        : callbacks_(callbacks), name_(name), slot_(slot), start_(std::chrono::steady_clock::now()) {
        if (callbacks_.stage_start) callbacks_.stage_start(name_);
    }
    void done() {
        slot_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        if (callbacks_.stage_done) callbacks_.stage_done(name_, slot_);
    }

private:
    const Callbacks& callbacks_;
    std::string name_;
    double& slot_;
    std::chrono::steady_clock::time_point start_;
};

}  // namespace

void require_finite(ConstMatrixView x, const char* what) {
    for (index_t i = 0; i < x.rows; ++i)
        for (index_t j = 0; j < x.cols; ++j)
            if (!std::isfinite(x(i, j)))
                throw InvalidArgument(concat(what, " has a non-finite value (", x(i, j), ") at row ", i + 1,
                                             ", column ", j + 1));
}

Result embed(ConstMatrixView x, const Options& options, const Callbacks& callbacks) {
    const auto start = std::chrono::steady_clock::now();
    validate(options, x.rows, x.cols);
    require_finite(x);
    Result result;
    const int threads = options.threads;

    Matrix reduced;
    ConstMatrixView data = x;
    if (options.pca_dims > 0 && options.pca_dims < x.cols) {
        Stage stage(callbacks, "pca", result.timings.pca);
        reduced = pca(x, options.pca_dims, threads).projected;
        data = reduced.view();
        stage.done();
    }

    const Method method = options.optimizer.method;
    std::optional<Session> session;
    Affinities p;
    Matrix dense;
    if (method == Method::barnes_hut) {
        result.backend = resolve_backend(options.neighbors.backend, data.rows, data.cols);
        Stage knn(callbacks, "neighbours", result.timings.neighbors);
        const NeighborGraph graph =
            nearest_neighbors(data, neighbor_count(options.affinities.perplexity, data.rows), result.backend,
                              threads);
        knn.done();
        Stage aff(callbacks, "affinities", result.timings.affinities);
        p = compute_affinities(graph, options.affinities, threads);
        aff.done();
    } else {
        Stage aff(callbacks, "affinities", result.timings.affinities);
        const Matrix conditional = dense_conditional_probabilities(data, options.affinities, threads);
        dense = method == Method::exact_sne ? conditional : dense_joint_probabilities(conditional);
        aff.done();
    }

    Stage init(callbacks, "init", result.timings.init);
    Matrix y0 = initial_embedding(data, options);
    init.done();

    Stage opt(callbacks, "optimise", result.timings.optimize);
    if (method == Method::barnes_hut) {
        if (callbacks.keep_affinities) result.affinities = p;
        session.emplace(std::move(p), std::move(y0), options);
    } else {
        session.emplace(std::move(dense), std::move(y0), options);
    }
    result.learning_rate = session->learning_rate();
    result.status = session->run(options.optimizer.iterations, callbacks.observer, callbacks.cancel);
    result.iterations = session->iteration();
    result.kl = session->kl();
    opt.done();

    result.y = session->embedding();
    result.timings.total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

Result embed(ConstMatrixView x, const Options& options, const Observer& observer) {
    Callbacks callbacks;
    callbacks.observer = observer;
    return embed(x, options, callbacks);
}

}  // namespace treesne

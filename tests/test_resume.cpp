// Resuming checks what shapes P: every option that shapes it is recorded in a checkpoint and a change is
// refused naming the option and both values; the fingerprint of P itself is recorded and checked, so a
// resume over another P (whatever made it differ) is refused; checkpoints of older versions, which
// recorded neither, still load but are refused for a resume.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "test_helpers.hpp"
#include "treesne/io/checkpoint.hpp"
#include "treesne/core/hash.hpp"
#include "treesne/treesne.hpp"

using namespace treesne;
using namespace treesne::testing;

namespace {

CheckpointInfo info_of(const Options& o, index_t n, index_t d) {
    CheckpointInfo info;
    info.data_fingerprint = 42;
    info.settings = trajectory_settings(o, n, d);
    return info;
}

// The message of a resume of a checkpoint made with `saved` options by a run with `now` options.
std::string refusal(const Options& saved, const Options& now, index_t n = 500, index_t d = 10) {
    return message_of([&] { check_resumable(info_of(saved, n, d), info_of(now, n, d), "--resume run.ckpt", "--"); });
}

template <class T>
void put(std::string& bytes, const T& v) {
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// A checkpoint file of format version 2 (before this change), as that version wrote it: no fingerprint
// of P, and settings without the options that shape P.
std::string version_2_file(const OptimizerState& s) {
    std::string b = "TSNECKPT";
    put(b, std::uint32_t{2});
    put(b, std::uint32_t{0x01020304});
    put(b, static_cast<std::int64_t>(s.y.rows()));
    put(b, static_cast<std::int64_t>(s.y.cols()));
    put(b, static_cast<std::int64_t>(s.iteration));
    put(b, std::uint64_t{0x1234});  // data fingerprint
    put(b, s.theta);
    put(b, s.stop_kl);
    put(b, std::uint32_t{1});  // one setting
    const std::string name = "perplexity";
    put(b, static_cast<std::uint16_t>(name.size()));
    b += name;
    put(b, 30.0);
    for (const Matrix* m : {&s.y, &s.gains, &s.velocity})
        b.append(reinterpret_cast<const char*>(m->data()), static_cast<std::size_t>(m->size()) * sizeof(double));
    WordHasher h;
    h.bytes(b.data(), b.size());
    put(b, h.value());
    return b;
}

}  // namespace

TEST_CASE("resume: every option that shapes P is recorded, and a change is refused naming it and both values") {
    const Options base;
    const struct {
        const char* what;
        std::function<void(Options&)> change;
        std::string expect;
    } cases[] = {
        {"metric", [](Options& o) { o.neighbors.metric = Metric::cosine; },
         "--resume run.ckpt was made with --metric euclidean; this run uses --metric cosine"},
        {"affinity", [](Options& o) { o.affinities.kind = AffinityKind::sigma; },
         "was made with --affinity perplexity; this run uses --affinity sigma"},
        {"k", [](Options& o) { o.affinities.k = 95; }, "was made with --k 90; this run uses --k 95"},
        {"multiscale", [](Options& o) { o.affinities.more_perplexities = {50}; },
         "was made with --perplexity 30; this run uses --perplexity 30, 50"},
        {"knn", [](Options& o) { o.neighbors.backend = KnnBackend::hnsw; },
         "this run uses --knn hnsw"},
        {"pca", [](Options& o) { o.pca_dims = 5; }, "was made with --pca 0; this run uses --pca 5"},
        {"perplexity", [](Options& o) { o.affinities.perplexity = 30.000000000000004; },
         "was made with --perplexity 30; this run uses --perplexity 30.000000000000004"},
        {"tolerance", [](Options& o) { o.affinities.entropy_tolerance = 1e-6; },
         "--perplexity-tolerance 1e-05; this run uses --perplexity-tolerance 1e-06"},
        {"theta auto", [](Options& o) { o.optimizer.theta_auto = true; },
         "was made with --theta 0.5; this run uses --theta auto"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        Options changed = base;
        c.change(changed);
        const std::string message = refusal(base, changed);
        CAPTURE(message);
        CHECK(contains(message, c.expect));
        CHECK(message.find('\n') == std::string::npos);
    }

    // The parameters of a kind are compared when that kind is in use on both sides, and only then: `use`
    // switches the kind on, `change` on top of it is refused with `expect`, and on `base` alone it is not.
    const auto hnsw = [](Options& o) { o.neighbors.backend = KnnBackend::hnsw; };
    const struct {
        std::function<void(Options&)> use, change;
        std::string expect;
    } kind_cases[] = {
        {[](Options& o) {
             o.affinities.kind = AffinityKind::sigma;
             o.affinities.sigma = 2;
         },
         [](Options& o) { o.affinities.sigma = 3; }, "was made with --sigma 2; this run uses --sigma 3"},
        {hnsw, [](Options& o) { o.neighbors.hnsw_m = 24; },
         "was made with --hnsw-m 16; this run uses --hnsw-m 24"},
        {hnsw, [](Options& o) { o.neighbors.hnsw_ef_search = 400; }, "--hnsw-ef-search"},
        {[](Options& o) { o.neighbors.backend = KnnBackend::nndescent; },
         [](Options& o) { o.neighbors.nndescent_trees = 8; },
         "was made with --nndescent-trees 0; this run uses --nndescent-trees 8"},
    };
    for (const auto& c : kind_cases) {
        CAPTURE(c.expect);
        Options used = base;
        c.use(used);
        Options changed = used;
        c.change(changed);
        CHECK(contains(refusal(used, changed), c.expect));
        Options unused = base;  // the same change has no effect where the kind is not in use
        c.change(unused);
        CHECK(refusal(base, unused).empty());
    }

    // The exact backends are resolved as embed() resolves them: auto equals the backend it picks.
    Options picked = base;
    picked.neighbors.backend = resolve_backend(KnnBackend::automatic, 500, 10);
    CHECK(refusal(base, picked).empty());

    // What a resume may change: the budget, threads, seed, init, reporting.
    Options free = base;
    free.optimizer.iterations = 3000;
    free.threads = 1;
    free.seed = 7;
    free.init = InitKind::random;
    free.report_every = 10;
    CHECK(refusal(base, free).empty());
}

TEST_CASE("resume: a checkpoint over another P is refused, even when every recorded option matches") {
    const Matrix x = clustered(4, 60, 6, 17);
    Options o;
    o.affinities.perplexity = 10;
    o.optimizer.iterations = 200;
    o.optimizer.exaggeration_iterations = 100;
    o.threads = 1;
    std::vector<OptimizerState> saved;
    const Result straight = embed(x, o, saving_checkpoints(saved, 100));
    REQUIRE(saved.size() == 2);
    CHECK(saved[0].affinities_fingerprint != 0);
    CHECK(saved[0].affinities_fingerprint == saved[1].affinities_fingerprint);

    // Through a file, and on to the end: the same P, accepted, bit for bit.
    const TempDir dir;
    save_checkpoint(dir / "run.ckpt", saved[0]);
    const OptimizerState loaded = load_checkpoint(dir / "run.ckpt");
    CHECK(loaded.affinities_fingerprint == saved[0].affinities_fingerprint);
    Callbacks resume;
    resume.resume_from = &loaded;
    CHECK(embed(x, o, resume).y == straight.y);

    // Another P from the same options: one coordinate moved. The library has no data fingerprint to
    // compare, so only P's fingerprint can tell; a different perplexity (unchecked here too) the same.
    Matrix moved = x;
    moved(7, 2) += 0.5;
    const std::string message = message_of([&] { embed(moved, o, resume); });
    CAPTURE(message);
    CHECK(contains(message, "cannot resume: the saved state was optimised against another P"));
    Options other = o;
    other.affinities.perplexity = 12;
    CHECK(contains(message_of([&] { embed(x, other, resume); }), "another P"));

    // Its fingerprint follows the resumed run into its own checkpoints.
    std::vector<std::uint64_t> fingerprints;
    resume.checkpoint = [&](const OptimizerState& s) { fingerprints.push_back(s.affinities_fingerprint); };
    resume.checkpoint_every = 50;
    embed(x, o, resume);
    CHECK(fingerprints == std::vector<std::uint64_t>{loaded.affinities_fingerprint, loaded.affinities_fingerprint});

    // The exact methods fingerprint their dense P.
    Options exact = o;
    exact.optimizer.method = Method::exact_tsne;
    saved.clear();
    embed(x, exact, saving_checkpoints(saved, 100));
    REQUIRE_FALSE(saved.empty());
    Callbacks exact_resume;
    exact_resume.resume_from = &saved[0];
    CHECK(contains(message_of([&] { embed(moved, exact, exact_resume); }), "another P"));
    CHECK_NOTHROW(embed(x, exact, exact_resume));
}

TEST_CASE("resume: a Session refuses a state of another P; its fingerprint is a pure function of P") {
    const Matrix x = clustered(3, 40, 4, 9);
    Options o;
    o.affinities.perplexity = 8;
    o.threads = 1;
    const Affinities p = testing::affinities_of(x, 8);
    Session a(p, random_matrix(120, 2, 1, 1e-4), o);
    Session b(p, random_matrix(120, 2, 2, 1e-4), o);
    CHECK(a.affinities_fingerprint() == b.affinities_fingerprint());
    CHECK(a.state().affinities_fingerprint == 0);  // recorded only on request
    a.fingerprint_affinities();
    CHECK(a.state().affinities_fingerprint == a.affinities_fingerprint());
    a.run(20);
    CHECK_NOTHROW(b.restore(a.state()));
    CHECK(b.embedding() == a.embedding());

    Session c(testing::affinities_of(x, 9), random_matrix(120, 2, 3, 1e-4), o);  // another P
    CHECK(c.affinities_fingerprint() != a.affinities_fingerprint());
    CHECK(contains(message_of([&] { c.restore(a.state()); }), "another P"));
    OptimizerState unrecorded = a.state();
    unrecorded.affinities_fingerprint = 0;  // a state from elsewhere: not checked
    CHECK_NOTHROW(b.restore(unrecorded));
}

TEST_CASE("resume: a checkpoint of format version 2 loads, and is refused for a resume as unverifiable") {
    OptimizerState s;
    s.y = random_matrix(20, 2, 5);
    s.gains = Matrix(20, 2, 1.0);
    s.velocity = Matrix(20, 2, 0.0);
    s.iteration = 100;
    const TempDir dir;
    const std::string path = dir / "v2.ckpt";
    {
        std::FILE* f = std::fopen(path.c_str(), "wb");
        REQUIRE(f);
        const std::string bytes = version_2_file(s);
        REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
        std::fclose(f);
    }
    CheckpointInfo info;
    const OptimizerState loaded = load_checkpoint(path, &info);
    CHECK(loaded.y == s.y);
    CHECK(loaded.iteration == 100);
    CHECK(loaded.affinities_fingerprint == 0);
    CHECK(info.version == 2);
    const std::string message =
        message_of([&] { check_resumable(info, info_of(Options(), 20, 2), "--resume " + path, "--"); });
    CAPTURE(message);
    CHECK(contains(message, "--resume " + path + " was written by an older treesne (checkpoint version 2)"));
    CHECK(contains(message, "start again"));

    // Today's files record the version they were written in.
    save_checkpoint(path, s, info_of(Options(), 20, 2));
    CHECK_NOTHROW(load_checkpoint(path, &info));
    CHECK(info.version == checkpoint_version);
    CHECK_NOTHROW(check_resumable(info, info_of(Options(), 20, 2), path));
}

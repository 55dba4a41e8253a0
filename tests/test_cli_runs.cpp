// The treesne program as a process, part 2: signals, the environment it runs in, checkpoints and resume,
// degenerate and small inputs, outputs that name inputs, failures while writing, --threads and
// --memory-limit. Part 1 is test_cli_binary.cpp.
#include <doctest/doctest.h>

#ifdef TREESNE_CLI_PATH

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <random>
#include <thread>

#include "helpers/cli_runs.hpp"
#include "treesne/io/checkpoint.hpp"

namespace fs = std::filesystem;

using namespace treesne::testing;
using namespace treesne::testing::quick_runs;

namespace {

struct Child {
    pid_t pid = -1;
};

/// Starts `sh -c "exec CMD"`; everything the child needs is prepared before fork(): it only calls exec.
Child start_child(const std::string& cmd) {
    const std::string line = "exec " + cmd;
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    return {pid};
}

/// Waits up to `seconds` for `ready`, then sends `sig` and reaps the child; returns the raw wait status.
int interrupt_child(const Child& child, int sig, const std::function<bool()>& ready, int seconds = 60) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!ready() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ::kill(child.pid, sig);
    int raw = 0;
    while (::waitpid(child.pid, &raw, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline + std::chrono::seconds(20)) {
            ::kill(child.pid, SIGKILL);
            ::waitpid(child.pid, &raw, 0);
            FAIL("treesne did not stop after the signal");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return raw;
}

/// n points in d dimensions, `clusters` blobs, written as CSV to dir/data.csv; its path, quoted.
std::string blobs_csv(const TempDir& dir, int n, int d, int clusters) {
    write_csv(dir / "data.csv", make_blobs(n, d, clusters).x);
    return quote(dir / "data.csv");
}

/// 200 points in 5-D, four blobs, written as CSV to dir/in.csv.
std::string small_input(const TempDir& dir) {
    const std::string in = dir / "in.csv";
    write_csv(in, make_blobs(200, 5, 4).x);
    return in;
}

}  // namespace

TEST_CASE("cli binary: SIGINT or SIGTERM during the optimisation writes nothing and exits 130") {
    TempDir dir;
    const std::string in = small_input(dir), out = dir / "y.csv", err = dir / "stderr.txt";
    for (int sig : {SIGINT, SIGTERM}) {
        CAPTURE(sig);
        fs::remove(err);
        const Child child =
            start_child(quote(TREESNE_CLI_PATH) + " embed " + quote(in) + " -o " + quote(out) +
                        " --perplexity 5 --iterations 100000000 --log-every 1 --threads 1 2>" + quote(err) +
                        " </dev/null >/dev/null");
        // Wait until the optimisation reports, then interrupt.
        const int raw = interrupt_child(child, sig, [&] { return contains(slurp(err), "optimise: "); });
        REQUIRE(WIFEXITED(raw));
        CHECK(WEXITSTATUS(raw) == 130);
        const std::string message = slurp(err);
        CAPTURE(message);
        CHECK(contains(message, "interrupted at iteration"));
        CHECK(contains(message, "nothing written"));
        CHECK_FALSE(fs::exists(out));
        for (const auto& entry : fs::directory_iterator(dir.path()))  // no temporary file left either
            CHECK(entry.path().filename().string().find(".tmp.") == std::string::npos);
    }
}

TEST_CASE("cli: malloc's tunables are added to the user's GLIBC_TUNABLES, never replacing a setting") {
    using treesne::cli::with_malloc_tunables;
    CHECK(with_malloc_tunables(nullptr) == "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=1048576");
    CHECK(with_malloc_tunables("") == "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=1048576");
    CHECK(with_malloc_tunables("glibc.malloc.hugetlb=0") ==
          "glibc.malloc.hugetlb=0:glibc.malloc.mmap_threshold=1048576");
    CHECK(with_malloc_tunables("glibc.malloc.mmap_threshold=65536:glibc.rtld.nns=2") ==
          "glibc.malloc.mmap_threshold=65536:glibc.rtld.nns=2:glibc.malloc.hugetlb=1");
    const char* both = "glibc.malloc.hugetlb=0:glibc.malloc.mmap_threshold=65536";
    CHECK(with_malloc_tunables(both) == both);
}

TEST_CASE("cli binary: the running program has a wait policy and malloc's tunables in its environment") {
    TempDir dir;
    const std::string in = small_input(dir), out = dir / "y.csv", err = dir / "stderr.txt";
    const Child child = start_child("env -u GLIBC_TUNABLES -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT " +
                                    quote(TREESNE_CLI_PATH) + " embed " + quote(in) + " -o " + quote(out) +
                                    " --perplexity 5 --iterations 100000000 --log-every 1 --threads 1 2>" +
                                    quote(err) + " </dev/null >/dev/null");
    // The environment of the process after its re-exec (the same process id), read from /proc. glibc may
    // rewrite GLIBC_TUNABLES there while it parses it, so only its first setting is checked.
    std::string environment;
    const int raw = interrupt_child(child, SIGTERM, [&] {
        if (!contains(slurp(err), "optimise: ")) return false;
        environment = slurp("/proc/" + std::to_string(child.pid) + "/environ");
        return true;
    });
    CHECK(WIFEXITED(raw));
    std::vector<std::string> entries;
    for (std::size_t at = 0; at < environment.size();) {
        const std::size_t end = std::min(environment.find('\0', at), environment.size());
        entries.push_back(environment.substr(at, end - at));
        at = end + 1;
    }
    const auto has = [&](const std::string& prefix) {
        return std::any_of(entries.begin(), entries.end(),
                           [&](const std::string& e) { return e.rfind(prefix, 0) == 0; });
    };
    CHECK(has("GLIBC_TUNABLES=glibc.malloc.hugetlb=1"));
    CHECK((has("GOMP_SPINCOUNT=3000") || has("OMP_WAIT_POLICY=passive")));
}

TEST_CASE("cli binary: a checkpoint at 300 resumed to 1000 gives the file of a straight run of 1000") {
    TempDir dir;
    const std::string in = small_input(dir);
    const std::string common = " --perplexity 10 --seed 3 --quiet --threads 1";
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "straight.npy") + common +
                             " --iterations 1000")
                .status == 0);
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "first.npy") + common +
                             " --iterations 300 --checkpoint " + quote(dir / "run.ckpt"))
                .status == 0);
    const treesne::OptimizerState at_300 = treesne::load_checkpoint(dir / "run.ckpt");
    CHECK(at_300.iteration == 300);
    CHECK(at_300.y == treesne::io::read_matrix(dir / "first.npy"));
    // Resume, checkpointing into the same file as it goes.
    const Run resumed = run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "resumed.npy") +
                                         " --perplexity 10 --seed 3 --threads 1 --iterations 1000 --resume " +
                                         quote(dir / "run.ckpt") + " --checkpoint " +
                                         quote(dir / "run.ckpt") + " --checkpoint-every 250 --log-every 100");
    CAPTURE(resumed.err);
    REQUIRE(resumed.status == 0);
    CHECK(contains(resumed.err, "resume: " + dir / "run.ckpt" + " at iteration 300"));
    CHECK(contains(resumed.err, "optimise: 400/1000"));
    CHECK_FALSE(contains(resumed.err, "init:"));
    const std::string straight = slurp(dir / "straight.npy");
    CHECK(straight.size() > 200 * 2 * 8);
    CHECK(slurp(dir / "resumed.npy") == straight);
    CHECK(treesne::load_checkpoint(dir / "run.ckpt").iteration == 1000);

    // The exact method resumes the same way.
    const std::string exact = common + " --method exact_tsne";
    REQUIRE(
        run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "exact.npy") + exact + " --iterations 400")
            .status == 0);
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "e1.npy") + exact +
                             " --iterations 150 --checkpoint " + quote(dir / "exact.ckpt"))
                .status == 0);
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "e2.npy") + exact +
                             " --iterations 400 --resume " + quote(dir / "exact.ckpt"))
                .status == 0);
    CHECK(slurp(dir / "e2.npy") == slurp(dir / "exact.npy"));
}

TEST_CASE("cli binary: interrupted with --checkpoint, resumed, equals the straight run") {
    TempDir dir;
    const std::string in = small_input(dir), out = dir / "y.csv", err = dir / "stderr.txt",
                      ckpt = dir / "run.ckpt";
    const std::string common = " --perplexity 10 --seed 5 --threads 1";
    const Child child =
        start_child(quote(TREESNE_CLI_PATH) + " embed " + quote(in) + " -o " + quote(out) + common +
                    " --iterations 100000000 --checkpoint " + quote(ckpt) +
                    " --checkpoint-every 40 --log-every 1 2>" + quote(err) + " </dev/null >/dev/null");
    const int raw = interrupt_child(child, SIGINT, [&] { return fs::exists(ckpt); });
    REQUIRE(WIFEXITED(raw));
    CHECK(WEXITSTATUS(raw) == 130);
    const std::string message = slurp(err);
    CAPTURE(message);
    CHECK(contains(message, "nothing written (" + ckpt + " holds iteration "));
    CHECK(contains(message, "continue with --resume"));
    CHECK_FALSE(fs::exists(out));
    const treesne::index_t saved = treesne::load_checkpoint(ckpt).iteration;
    CHECK(saved % 40 == 0);
    CHECK(saved >= 40);
    const std::string until = " --iterations " + std::to_string(saved + 60);
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "resumed.npy") + common + until +
                             " --quiet --resume " + quote(ckpt))
                .status == 0);
    REQUIRE(run_cli(dir,
                    "embed " + quote(in) + " -o " + quote(dir / "straight.npy") + common + until + " --quiet")
                .status == 0);
    CHECK(slurp(dir / "resumed.npy") == slurp(dir / "straight.npy"));
}

TEST_CASE("cli binary: a resume that cannot continue the saved run exits 1 with one line") {
    TempDir dir;
    const std::string in = small_input(dir), out = dir / "out.csv", ckpt = dir / "run.ckpt";
    const std::string common = " --quiet --threads 1";
    REQUIRE(run_cli(dir, "embed " + quote(in) + " -o " + quote(dir / "first.csv") + common +
                             " --perplexity 10 --iterations 50 --checkpoint " + quote(ckpt))
                .status == 0);
    Blobs other = make_blobs(200, 5, 4);
    other.x[7][2] += 1e-9;
    write_csv(dir / "other.csv", other.x);
    write_csv(dir / "fewer.csv", make_blobs(150, 5, 4).x);
    spit(dir / "broken.ckpt", slurp(ckpt).substr(0, 100));
    const struct {
        std::string args, expect;
    } cases[] = {
        {quote(in) + " --perplexity 12", "was made with --perplexity 10; this run uses --perplexity 12"},
        {quote(in) + " --perplexity 10 --theta 0.3", "--theta 0.5; this run uses --theta 0.3"},
        {quote(in) + " --perplexity 10 --learning-rate 100", "--learning-rate"},
        {quote(in) + " --perplexity 10 --metric cosine",
         "--resume " + ckpt + " was made with --metric euclidean; this run uses --metric cosine"},
        {quote(in) + " --affinity uniform --k 30",
         "was made with --affinity perplexity; this run uses --affinity uniform"},
        {quote(in) + " --perplexity 10,20", "was made with --perplexity 10; this run uses --perplexity 10, 20"},
        {quote(in) + " --perplexity 10 --k 40", "was made with --k 30; this run uses --k 40"},
        {quote(in) + " --perplexity 10 --dims 3",
         "holds 200 points in 2 dimensions, this run embeds 200 points in 3"},
        {quote(dir / "fewer.csv") + " --perplexity 10", "this run embeds 150 points"},
        {quote(dir / "other.csv") + " --perplexity 10", "different input data"},
        {quote(in) + " --perplexity 10 --method exact_tsne",
         "was made with --method barnes_hut; this run uses --method exact_tsne"},
        {quote(in) + " --perplexity 10 --iterations 40", "is at iteration 50, beyond --iterations 40"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.args);
        const Run r =
            run_cli(dir, "embed " + c.args + common + " -o " + quote(out) + " --resume " + quote(ckpt));
        CHECK(r.status == 1);
        check_one_error_line(r);
        CHECK(contains(r.err, c.expect));
        CHECK_FALSE(fs::exists(out));
    }
    for (const std::string& bad : {dir / "broken.ckpt", in, dir / "missing.ckpt"}) {
        CAPTURE(bad);
        const Run r = run_cli(dir, "embed " + quote(in) + common + " --perplexity 10 -o " + quote(out) +
                                       " --resume " + quote(bad));
        CHECK(r.status == 1);
        check_one_error_line(r);
        CHECK(contains(r.err, bad));
        CHECK_FALSE(fs::exists(out));
    }
    // A checkpoint that cannot be written fails before the work starts.
    const Run r = run_cli(dir, "embed " + quote(in) + common + " -o " + quote(out) + " --checkpoint " +
                                   quote(dir / "no/such/dir/c.ckpt"));
    CHECK(r.status == 1);
    check_one_error_line(r);
}

TEST_CASE("cli binary: degenerate inputs embed, and --verbose prints the memory estimate") {
    TempDir dir;
    std::vector<std::vector<double>> same(120, std::vector<double>{1.5, -2.0, 3.0});
    write_csv(dir / "same.csv", same);
    Blobs b = make_blobs(150, 4, 3);
    for (auto& row : b.x)
        for (double& v : row) v *= 1e150;
    write_csv(dir / "huge.csv", b.x);
    Blobs d = make_blobs(150, 4, 3);
    for (std::size_t i = 0; i < d.x.size(); i += 2) d.x[i] = d.x[0];  // half the rows identical
    write_csv(dir / "dups.csv", d.x);
    for (const char* name : {"same.csv", "huge.csv", "dups.csv"}) {
        CAPTURE(name);
        const Run r =
            run_cli(dir, "embed " + quote(dir / name) + " -o " + quote(dir / "y.csv") +
                             " --perplexity 10 --iterations 200 --threads 1 --verbose --log-every 0");
        CAPTURE(r.err);
        CHECK(r.status == 0);
        CHECK(contains(r.err, "memory: about "));
        CHECK(contains(r.err, " available"));
        check_embedding(dir / "y.csv", name == std::string("same.csv") ? 120 : 150, 2);
    }
    // --memory-limit: refused before the work, with the estimate; 0 turns the check off.
    Run refused = run_cli(dir, "embed " + quote(dir / "dups.csv") + " -o " + quote(dir / "z.csv") + fast +
                                   " --memory-limit 0.00001");
    CHECK(refused.status == 1);
    check_one_error_line(refused);
    CHECK(contains(refused.err, "needs about"));
    CHECK(contains(refused.err, "but 10.5 KiB is available"));
    CHECK_FALSE(fs::exists(dir / "z.csv"));
    CHECK(run_cli(dir, "embed " + quote(dir / "dups.csv") + " -o " + quote(dir / "z.csv") + fast +
                           " --memory-limit 0")
              .status == 0);
    fs::remove(dir / "z.csv");
    CHECK(run_cli(dir, "embed " + quote(dir / "dups.csv") + " -o " + quote(dir / "z.csv") + fast +
                           " --memory-limit -1")
              .status == 2);

    spit(dir / "nan.csv", "1,2\n3,nan\n5,6\n");
    const Run r = run_cli(dir, "embed " + quote(dir / "nan.csv") + " -o " + quote(dir / "z.csv") + fast);
    CHECK(r.status == 1);
    check_one_error_line(r);
    CHECK_FALSE(fs::exists(dir / "z.csv"));
}

TEST_CASE("cli binary: small data embeds at the default perplexity; only perplexity >= N - 1 is refused") {
    TempDir dir;
    std::mt19937_64 rng(5);
    std::vector<std::vector<double>> x(50, std::vector<double>(2));
    for (auto& row : x)
        for (double& v : row) v = std::generate_canonical<double, 53>(rng);
    write_csv(dir / "fifty.csv", x);
    // As a new user would: 50 random 2-D points, every option at its default (perplexity 30, k = 49).
    Run r = run_cli(dir, "embed " + quote(dir / "fifty.csv") + " -o " + quote(dir / "y.csv") + " --quiet");
    CAPTURE(r.err);
    CHECK(r.status == 0);
    check_embedding(dir / "y.csv", 50, 2);
    r = run_cli(dir, "evaluate " + quote(dir / "fifty.csv") + " " + quote(dir / "y.csv") + " --quiet");
    CHECK(r.status == 0);
    CHECK(contains(r.out, "KL divergence"));

    x.resize(31);  // perplexity 30 needs N - 1 > 30
    write_csv(dir / "thirty-one.csv", x);
    write_csv(dir / "y31.csv", x);  // any 31 x 2 matrix will do as the embedding to evaluate
    for (const std::string command : {"embed", "evaluate"}) {
        CAPTURE(command);
        const std::string args =
            command == "embed" ? " -o " + quote(dir / "z.csv") : " " + quote(dir / "y31.csv");
        r = run_cli(dir, command + " " + quote(dir / "thirty-one.csv") + args + " --quiet");
        CHECK(r.status == 1);
        check_one_error_line(r);
        CHECK(contains(r.err, "perplexity 30 must be below N - 1 = 30 for 31 points"));
    }
    CHECK_FALSE(fs::exists(dir / "z.csv"));
    r = run_cli(dir, "embed " + quote(dir / "thirty-one.csv") + " -o " + quote(dir / "z.csv") +
                         " --perplexity 29.5 --quiet --iterations 100");
    CHECK(r.status == 0);
    check_embedding(dir / "z.csv", 31, 2);
}

TEST_CASE("cli binary: an output naming an input or another output is refused before any work") {
    TempDir dir;
    const Blobs b = make_blobs(40, 3, 2);
    write_csv(dir / "data.csv", b.x);
    write_labels(dir / "labels.csv", b.labels);
    const std::string data = slurp(dir / "data.csv"), labels = slurp(dir / "labels.csv");
    fs::create_symlink(dir / "data.csv", dir / "link.csv");
    fs::create_hard_link(dir / "data.csv", dir / "hard.csv");
    fs::create_directory(dir / "sub");
    const std::string in = quote(dir / "data.csv");
    const std::string opts =
        " --perplexity 5 --iterations 20 --threads 1";  // not --quiet: no stage line either
    struct Case {
        std::string args, expect;
    };
    const Case cases[] = {
        {in + " -o " + in, "-o " + (dir / "data.csv") + " is the same file as the input"},
        {in + " -o " + quote((dir / "sub") + "/../data.csv"), "is the same file as the input"},
        {in + " -o " + quote(dir / "link.csv"), "is the same file as the input"},
        {in + " -o " + quote(dir / "hard.csv"), "is the same file as the input"},
        {quote(dir / "link.csv") + " -o " + quote(dir / "hard.csv"), "is the same file as the input"},
        {in + " -o y.csv --labels " + quote(dir / "labels.csv") + " --checkpoint " +
             quote(dir / "labels.csv"),
         "--checkpoint " + (dir / "labels.csv") + " is the same file as --labels"},
        {in + " -o " + quote(dir / "labels.csv") + " --labels " + quote(dir / "labels.csv"),
         "is the same file as --labels"},
        {in + " -o " + quote(dir / "y.csv") + " --init " + quote(dir / "y.csv"),
         "is the same file as --init"},
        {in + " -o " + quote(dir / "y.csv") + " --checkpoint " + quote(dir / "./y.csv"),
         "-o " + (dir / "y.csv") + " and --checkpoint " + (dir / "./y.csv") + " name the same file"},
        {in + " -o " + quote(dir / "y.csv") + " --checkpoint " + in, "is the same file as the input"},
    };
    fs::copy_file(dir / "data.csv", dir / "y.csv");  // for --init
    for (const Case& c : cases) {
        CAPTURE(c.args);
        const Run r = run_cli(dir, "embed " + c.args + opts);
        CHECK(r.status == 2);
        check_one_error_line(r);
        CHECK(contains(r.err, c.expect));
        CHECK(contains(r.err, "refusing to overwrite an input") != contains(r.err, "name the same file"));
    }
    CHECK(slurp(dir / "data.csv") == data);
    CHECK(slurp(dir / "labels.csv") == labels);
    // The one pair allowed: a run that checkpoints into the file it resumes from.
    const std::string ckpt = quote(dir / "run.ckpt");
    CHECK(
        run_cli(dir, "embed " + in + " -o " + quote(dir / "a.csv") + " --checkpoint " + ckpt + opts).status ==
        0);
    const Run resumed = run_cli(dir, "embed " + in + " -o " + quote(dir / "b.csv") + " --checkpoint " + ckpt +
                                         " --resume " + ckpt + " --perplexity 5 --iterations 40 --threads 1");
    CAPTURE(resumed.err);
    CHECK(resumed.status == 0);
}

TEST_CASE("cli binary: a diverging exact run exits 1 naming the iteration and writes nothing") {
    TempDir dir;
    const Run r = run_cli(
        dir,
        "embed " + blobs_csv(dir, 60, 4, 2) + " -o " + quote(dir / "y.csv") +
            " --method exact_sne --learning-rate 1e12 --max-step-norm 0 --perplexity 5 --quiet --threads 1");
    CHECK(r.status == 1);
    check_one_error_line(r);
    CHECK(contains(r.err, "the optimisation diverged at iteration "));
    CHECK_FALSE(fs::exists(dir / "y.csv"));
}

/// Runs `sh -c 'trap "" XFSZ; ulimit -f BLOCKS; exec treesne ARGS'`: every file the program writes is cut off
/// at BLOCKS KiB (the write fails with EFBIG), so that a run fails while writing, at a known output.
Run run_cli_file_limit(const TempDir& dir, int kib, const std::string& args) {
    const std::string inner =
        "trap '' XFSZ; ulimit -f " + std::to_string(kib) + "; exec " + quote(TREESNE_CLI_PATH) + " " + args;
    const std::string command = "sh -c " + quote(inner) + " >" + quote(dir / "stdout.txt") + " 2>" +
                                quote(dir / "stderr.txt") + " </dev/null";
    const int raw = std::system(command.c_str());
    Run r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    r.out = slurp(dir / "stdout.txt");
    r.err = slurp(dir / "stderr.txt");
    fs::remove(dir / "stdout.txt");
    fs::remove(dir / "stderr.txt");
    return r;
}

/// The names in dir that a run's temporary files would have (".treesne-...", ".NAME.tmp....").
std::vector<std::string> leftover_temporaries(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(".treesne", 0) == 0 || name.find(".tmp.") != std::string::npos) names.push_back(name);
    }
    return names;
}

TEST_CASE("cli binary: accuracy and embed refuse an output that is an input or another output, by the file") {
    TempDir dir;
    const Blobs b = make_blobs(60, 3, 3);
    write_csv(dir / "data.csv", b.x);
    write_labels(dir / "labels.csv", b.labels);
    spit(dir / "names.csv", "a\nb\nc\n");
    fs::create_hard_link(dir / "data.csv", dir / "hard.png");
    fs::create_directory(dir / "sub");
    fs::create_directory_symlink(dir / "sub", dir / "linked");
    const std::string data = slurp(dir / "data.csv"), names = slurp(dir / "names.csv");
    const std::string in = quote(dir / "data.csv");
    const std::string accuracy = " --theta 0.5 --iterations 20 --threads 1";
    const std::string embed =
        " --labels " + quote(dir / "labels.csv") + " --perplexity 5 --iterations 20 --threads 1";
    struct Case {
        std::string args, expect;
    };
    const Case cases[] = {
        {"accuracy " + in + " --csv " + quote(dir.path().string() + "/./data.csv") + accuracy,
         "--csv " + dir.path().string() + "/./data.csv is the same file as the input"},
        {"accuracy " + in + " --json " + quote(dir / "r.txt") + " --csv " + quote(dir / "sub/../r.txt") +
             accuracy,
         "--json " + (dir / "r.txt") + " and --csv " + (dir / "sub/../r.txt") + " name the same file"},
        {"accuracy " + in + " --plot " + quote(dir / "hard.png") + accuracy,
         "--plot " + (dir / "hard.png") + " is the same file as the input"},
        {"accuracy " + in + " --labels " + quote(dir / "labels.csv") + " --json " +
             quote(dir / "labels.csv") + accuracy,
         "--json " + (dir / "labels.csv") + " is the same file as --labels"},
        {"embed " + in + embed + " --label-names " + quote(dir / "names.csv") + " -o " +
             quote(dir / "names.csv"),
         "-o " + (dir / "names.csv") + " is the same file as --label-names"},
        {"embed " + in + embed + " --label-names " + quote(dir / "names.csv") + " -o " +
             quote(dir / "y.csv") + " --kl-log " + quote(dir / "./names.csv"),
         "--kl-log " + (dir / "./names.csv") + " is the same file as --label-names"},
        // Outputs not there yet, one spelled through a linked directory.
        {"embed " + in + embed + " -o " + quote(dir / "sub/y.csv") + " --checkpoint " +
             quote(dir / "linked/y.csv"),
         "-o " + (dir / "sub/y.csv") + " and --checkpoint " + (dir / "linked/y.csv") + " name the same file"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.args);
        const Run r = run_cli(dir, c.args);
        CHECK(r.status == 2);
        check_one_error_line(r);
        CHECK(contains(r.err, c.expect));
    }
    CHECK(slurp(dir / "data.csv") == data);
    CHECK(slurp(dir / "names.csv") == names);
    CHECK_FALSE(fs::exists(dir / "r.txt"));
    CHECK_FALSE(fs::exists(dir / "sub/y.csv"));
    CHECK(leftover_temporaries(dir.path().string()).empty());
    // Names that are not files are names: --label-names a,b,c may sit beside an output called a,b,c.csv.
    const Run listed = run_cli(
        dir, "embed " + in + embed + " --label-names a,b,c -o " + quote(dir / "a,b,c.csv") + " --quiet");
    CAPTURE(listed.err);
    CHECK(listed.status == 0);
}

TEST_CASE("cli binary: a run that fails while writing replaces no output and leaves nothing behind") {
    TempDir dir;
    const std::string in = blobs_csv(dir, 200, 3, 4);
    spit(dir / "y.csv", "an earlier embedding\n");
    spit(dir / "P.mtx", "earlier affinities\n");
    // -o (200 x 2 as text, about 8 KiB) fits under the 40 KiB limit; P (about 4,500 entries) does not.
    const std::string args = "embed " + in + " -o " + quote(dir / "y.csv") + " --save-affinities " +
                             quote(dir / "P.mtx") + " --snapshot-every 20 --snapshot-plots " +
                             quote(dir / "frames") + " --kl-log " + quote(dir / "kl.csv") + fast;
    const Run r = run_cli_file_limit(dir, 40, args);
    CHECK(r.status == 1);
    check_one_error_line(r);
    CHECK(contains(r.err, "cannot write " + (dir / "P.mtx")));  // the output's own name, not a temporary's
    CHECK(slurp(dir / "y.csv") == "an earlier embedding\n");
    CHECK(slurp(dir / "P.mtx") == "earlier affinities\n");
    CHECK_FALSE(fs::exists(dir / "frames"));
    CHECK_FALSE(fs::exists(dir / "kl.csv"));
    CHECK(leftover_temporaries(dir.path().string()).empty());
    // Without the limit the same command replaces them all.
    const Run ok = run_cli(dir, args);
    CAPTURE(ok.err);
    REQUIRE(ok.status == 0);
    check_embedding(dir / "y.csv", 200, 2);
    CHECK(fs::exists(dir / "frames/0003.png"));  // iterations 20, 40 and 60
    CHECK(fs::exists(dir / "kl.csv"));
    CHECK(leftover_temporaries(dir.path().string()).empty());
    CHECK(leftover_temporaries(dir / "frames").empty());

    // accuracy: the small --json fits, the --plot does not; neither is written.
    const Run accuracy =
        run_cli_file_limit(dir, 4,
                           "accuracy " + in + " --json " + quote(dir / "r.json") + " --plot " +
                               quote(dir / "r.png") + " --theta 0.5 --iterations 20 --threads 1 --quiet");
    CHECK(accuracy.status == 1);
    check_one_error_line(accuracy);
    CHECK_FALSE(fs::exists(dir / "r.json"));
    CHECK_FALSE(fs::exists(dir / "r.png"));
    CHECK(leftover_temporaries(dir.path().string()).empty());
}

TEST_CASE("cli binary: --threads far above the cores is lowered, with a note, to the same result") {
    TempDir dir;
    const std::string in = blobs_csv(dir, 120, 3, 3);
    const std::string run = " --perplexity 5 --iterations 60 --exaggeration-iterations 20";
    REQUIRE(
        run_cli(dir, "embed " + in + " -o " + quote(dir / "one.csv") + run + " --quiet --threads 1").status ==
        0);
    const Run many =
        run_cli(dir, "embed " + in + " -o " + quote(dir / "many.csv") + run + " --threads 100000");
    CAPTURE(many.err);
    REQUIRE(many.status == 0);
    CHECK(contains(many.err, "note: --threads 100000 is more than this machine's limit of "));
    CHECK(slurp(dir / "many.csv") == slurp(dir / "one.csv"));
    for (const std::string& command : {"evaluate " + in + " " + quote(dir / "one.csv") + " --perplexity 5",
                                       "accuracy " + in + " --theta 0.5 --iterations 20",
                                       "transform " + in + " " + quote(dir / "one.csv") + " " + in + " -o " +
                                           quote(dir / "t.csv") + " --perplexity 5 --iterations 20"}) {
        CAPTURE(command);
        const Run r = run_cli(dir, command + " --quiet --threads 1048576");
        CAPTURE(r.err);
        CHECK(r.status == 0);
        CHECK(r.err.empty());
    }
}

TEST_CASE("cli binary: evaluate and accuracy honour --memory-limit like embed") {
    TempDir dir;
    const std::string in = blobs_csv(dir, 100, 3, 2);
    REQUIRE(run_cli(dir, "embed " + in + " -o " + quote(dir / "y.csv") + fast).status == 0);
    const std::string evaluate =
        "evaluate " + in + " " + quote(dir / "y.csv") + " --perplexity 5 --threads 1";
    const std::string accuracy = "accuracy " + in + " --theta 0.5 --iterations 20 --threads 1";
    for (const std::string& command : {evaluate, accuracy}) {
        CAPTURE(command);
        const Run refused = run_cli(dir, command + " --memory-limit 0.000001 --quiet");
        CHECK(refused.status == 1);
        check_one_error_line(refused);
        CHECK(contains(refused.err, " needs about "));
        CHECK(contains(refused.err, "is allowed by --memory-limit"));
        CHECK(refused.out.empty());  // refused before any measurement
        const Run unchecked = run_cli(dir, command + " --memory-limit 0 --quiet");
        CAPTURE(unchecked.err);
        CHECK(unchecked.status == 0);
        const Run verbose = run_cli(dir, command + " --verbose");
        CHECK(verbose.status == 0);
        CHECK(contains(verbose.err, "memory: about "));
    }
    CHECK(run_cli(dir, evaluate + " --memory-limit -1").status == 2);
    for (const char* command : {"evaluate", "accuracy", "transform"}) {
        CAPTURE(command);
        const Run help = run_cli(dir, std::string(command) + " --help");
        CHECK(help.status == 0);
        CHECK(contains(help.out, "--memory-limit GIB"));
        CHECK(contains(help.out, "At most 4 x the cores"));
    }
}

#endif  // TREESNE_CLI_PATH

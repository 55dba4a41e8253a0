// Writes small valid inputs, one directory per fuzz target, as the fuzzers' starting corpus:
//   make_seeds OUT_DIR   ->   OUT_DIR/{text,npy,idx,dat,gz,mtx,cli}/...
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "format_bytes.hpp"
#include "treesne/io/io.hpp"

namespace fs = std::filesystem;

namespace {

using treesne::fuzz::be;
using treesne::fuzz::idx;
using treesne::fuzz::le;
using treesne::fuzz::npy;

void put(const fs::path& path, const std::string& bytes) {
    std::FILE* f = std::fopen(path.string().c_str(), "wb");
    if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
        std::fprintf(stderr, "make_seeds: cannot write %s\n", path.string().c_str());
        std::exit(1);
    }
}

std::string slurp(const fs::path& path) {
    std::string out;
    std::FILE* f = std::fopen(path.string().c_str(), "rb");
    char buf[4096];
    for (std::size_t n; f && (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
    if (f) std::fclose(f);
    return out;
}

std::string gzip(const std::string& bytes) {
    z_stream zs{};
    if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::exit(1);
    std::string out(deflateBound(&zs, static_cast<uLong>(bytes.size())) + 64, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    zs.avail_in = static_cast<uInt>(bytes.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) std::exit(1);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

/// Small text files: matrices and label files for the text reader (text/), and command lines for
/// fuzz_cli, one argv word per line (cli/).
void write_text_seeds(const fs::path& out) {
    const std::vector<std::pair<std::string, std::string>> texts = {
        {"comma", "1,2,3\n4.5,-.5,3e2\n"},
        {"header", "x,y\n1,2\n3,4\n"},
        {"tab", "a\tb\n1\t2\n"},
        {"semicolon", "1;2\r\n3;4\r\n"},
        {"whitespace", "# comment\n  1  2 \n\n3\t 4\n"},
        {"quoted", "\"x\",\"y\"\n\"1\",+2\n"},
        {"labels", "cat\ndog\ncat\n\n"},
        {"numeric_labels", "10\n2\n-1\n"},
    };
    const std::vector<std::pair<std::string, std::string>> command_lines = {
        {"help", "--help\n"},
        {"help_embed", "help\nembed\n"},
        {"version", "--version\n"},
        {"embed_minimal", "embed\nx.csv\n-o\ny.csv\n"},
        {"embed_many",
         "embed\na.npy\nb.npy\n-o\ny.npy\n--dims\n3\n--perplexity=50\n--theta\n0.3\n--iterations\n500\n"
         "--exaggeration\n4\n--learning-rate\nauto\n--momentum\n0.4\n--max-step-norm\n5\n--seed\n7\n"
         "--threads\n2\n--knn\nbrute\n--pca\n50\n--labels\nla.txt\n--labels\nlb.txt\n--label-names\n"
         "a,b\n--plot\np.png\n--verbose\n"},
        {"embed_checkpoint",
         "embed\nx.csv\n-o\n-\n--checkpoint\nc.ckpt\n--checkpoint-every\n50\n--resume\nc.ckpt\n--quiet\n"},
        {"embed_init", "embed\nx.csv\n-o\ny.dat\n--init\ny0.csv\n--keep-init-scale\n--method\nexact_tsne\n"},
        {"embed_phases",
         "embed\nx.csv\n-o\ny.npy\n--late-exaggeration\n3\n--late-exaggeration-start\n400\n"
         "--momentum-switch\n200\n--early-stop\n0.001\n--snapshot-every\n10\n--snapshots\ns.npy\n"
         "--snapshot-plots\nframes\n--kl-log\nkl.csv\n"},
        {"embed_negative", "embed\nx.csv\n-o\ny.csv\n--theta\n-1\n--\n-weird.csv\n"},
        {"evaluate", "evaluate\nx.csv\ny.csv\n--labels\nl.txt\n--k\n5\n--sample\n100\n--json\n"},
    };
    for (const auto& [name, text] : texts) put(out / "text" / name, text);
    for (const auto& [name, text] : command_lines) put(out / "cli" / name, text);
}

/// .npy, IDX, bhtsne .dat, gzip-wrapped and Matrix Market files, each small and valid.
void write_binary_seeds(const fs::path& out) {
    std::string f8, f4, i4;
    for (const double v : {1.0, -2.5, 3.0, 4.0}) {
        f8 += le(v);
        f4 += le(static_cast<float>(v));
        i4 += le(static_cast<std::int32_t>(v));
    }
    put(out / "npy" / "f8", npy("<f8", "(2, 2)", f8, 1));
    put(out / "npy" / "f4_1d", npy("<f4", "(4,)", f4, 1));
    put(out / "npy" / "i4_v2", npy("<i4", "(4, 1)", i4, 2));
    put(out / "npy" / "u1_v3", npy("|u1", "(2, 2)", "\x01\x02\x03\x04", 3));

    put(out / "idx" / "images", idx(0x08, {2, 2, 2}, "\x00\x10\x20\x30\x40\x50\x60\xff"));
    put(out / "idx" / "labels", idx(0x08, {3}, "\x07\x02\x07"));
    put(out / "idx" / "short", idx(0x0B, {1, 2}, be<std::int16_t>(-3) + be<std::int16_t>(9)));
    put(out / "idx" / "double", idx(0x0E, {2}, be(1.5) + be(-2.0)));

    const std::string head = le<std::int32_t>(2) + le<std::int32_t>(2) + le(0.5) + le(30.0);
    put(out / "dat" / "old", head + f8);
    put(out / "dat" / "new_seed",
        head + le<std::int32_t>(2) + le<std::int32_t>(1000) + f8 + le<std::int32_t>(7));

    // The gz target's first byte picks the inner name: 0 .csv, 1 .npy, 2 IDX, 3 .dat.
    put(out / "gz" / "csv", '\0' + gzip("1,2\n3,4\n"));
    put(out / "gz" / "npy", '\1' + gzip(npy("<f8", "(2, 2)", f8, 1)));
    put(out / "gz" / "idx", '\2' + gzip(idx(0x08, {2, 2, 2}, "\x00\x10\x20\x30\x40\x50\x60\xff")));
    put(out / "gz" / "dat", '\3' + gzip(head + f8));

    put(out / "mtx" / "p",
        "%%MatrixMarket matrix coordinate real general\n% c\n3 3 4\n1 2 0.25\n2 1 0.25\n3 1 0.25\n1 3 "
        "0.25\n");
}

/// Files the writers produce, as the readers should always accept them.
void write_written_seeds(const fs::path& out) {
    const treesne::Matrix m(3, 2, std::vector<double>{0.1, -1e-300, 1e300, 2.0, 1.0 / 3.0, -0.0});
    const fs::path scratch = out / ("scratch." + std::to_string(::getpid()));  // runs may overlap
    fs::create_directories(scratch);
    const std::pair<const char*, const char*> written[] = {
        {"m.csv", "text"}, {"m.tsv", "text"}, {"m.npy", "npy"}, {"m.dat", "dat"}};
    for (const auto& [name, target] : written) {
        treesne::io::write_matrix((scratch / name).string(), m);
        put(out / target / (std::string("written_") + name), slurp(scratch / name));
    }
    fs::remove_all(scratch);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_seeds OUT_DIR\n");
        return 2;
    }
    const fs::path out = argv[1];
    for (const char* d : {"text", "npy", "idx", "dat", "gz", "mtx", "cli"}) fs::create_directories(out / d);
    write_text_seeds(out);
    write_binary_seeds(out);
    write_written_seeds(out);
    return 0;
}

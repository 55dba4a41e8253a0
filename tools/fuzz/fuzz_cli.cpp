// libFuzzer target: command-line parsing. The input is split into argv words at '\n' and '\0' (argv
// holds C strings, so a word cannot contain '\0'); argv[0] is the program name. parse_cli must either
// return a configuration that keeps its documented promises or throw UsageError; anything else escapes
// and libFuzzer reports it, a broken promise traps. Regressions live in tests/data/fuzz/cli/, replayed by
// tests/test_cli.cpp with the same splitting (split_words below).
#include <cstdint>
#include <string>
#include <vector>

#include "cli.hpp"
#include "fuzz_common.hpp"

namespace {

using treesne::cli::Command;

std::vector<std::string> split_words(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return {};
    std::vector<std::string> words(1);
    for (std::size_t i = 0; i < size; ++i) {
        const char c = static_cast<char>(data[i]);
        if (c == '\n' || c == '\0') {
            words.emplace_back();
        } else {
            words.back() += c;
        }
    }
    if (words.back().empty()) words.pop_back();  // a final newline ends the last word
    return words;
}

void check_config(const treesne::cli::CliConfig& c) {
    using treesne_fuzz::check;
    switch (c.command) {
        case Command::help:
            // help_text must answer every topic parse_cli accepted.
            check(!treesne::cli::help_text(c.help_topic).empty());
            break;
        case Command::version:
            break;
        case Command::embed: {
            const auto& e = c.embed;
            check(!e.inputs.empty() && !e.output.empty());
            check(e.checkpoint_every >= 1);
            check(e.label_paths.empty() || e.label_paths.size() == e.inputs.size());
            check(e.options.dims >= 1 && e.options.dims <= 3);
            check(e.options.affinities.perplexity > 0 && e.options.optimizer.theta >= 0);
            check((e.options.init == treesne::InitKind::user) == !e.init_path.empty());
            treesne::validate(e.options, -1, 0);  // must not throw: parse_cli checks it
            break;
        }
        case Command::transform: {
            const auto& t = c.transform;
            check(!t.inputs.empty() && !t.output.empty());
            check(!t.reference_input.empty() && !t.reference_embedding.empty());
            break;
        }
        case Command::evaluate: {
            const auto& v = c.evaluate;
            check(!v.inputs.empty() && !v.embedding.empty());
            check(v.k >= 1 && v.sample != 1 && v.perplexity > 0);
            break;
        }
        case Command::accuracy: {
            const auto& a = c.accuracy;
            check(!a.inputs.empty());
            check(a.label_paths.empty() || a.label_paths.size() == a.inputs.size());
            check(!a.accuracy.thetas.empty() && a.accuracy.sample != 1 && a.accuracy.sample >= 0);
            for (double theta : a.accuracy.thetas) check(theta >= 0);
            treesne::validate(a.options, -1, 0);  // must not throw: parse_cli checks it
            break;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 4096) return 0;  // long command lines find nothing short ones do not
    const std::vector<std::string> words = split_words(data, size);
    std::vector<const char*> argv = {"treesne"};
    for (const std::string& w : words) argv.push_back(w.c_str());
    try {
        check_config(treesne::cli::parse_cli(static_cast<int>(argv.size()), argv.data()));
    } catch (const treesne::cli::UsageError&) {
    }
    return 0;
}

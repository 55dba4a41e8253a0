// The option table (option_table.hpp): its defaults lie in its ranges, the enum name tables read back,
// validate() refuses every field just outside its range naming it, and the CLI refuses the same values
// with the same words.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "treesne/api/transform.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/option_table.hpp"

#ifdef TREESNE_HAVE_CLI_LIB
#include "cli.hpp"
#endif

using namespace treesne;

namespace {

/// Values just outside [lo, hi] (none beyond an infinite end; an integer's neighbours are +-1), without
/// the sentinel, which is valid.
template <class Descriptor>
std::vector<double> just_outside(const Descriptor& d) {
    const OptionRange& r = d.range;
    const bool integer = d.kind == OptionKind::integer;
    std::vector<double> out;
    // Below a closed 0 the next double is subnormal, which strtod reports as out of range: the smallest
    // normal one instead.
    if (std::isfinite(r.lo))
        out.push_back(r.lo_open  ? r.lo
                      : integer  ? r.lo - 1
                      : r.lo == 0 ? -std::numeric_limits<double>::min()
                                  : std::nextafter(r.lo, -HUGE_VAL));
    if (std::isfinite(r.hi))
        out.push_back(r.hi_open ? r.hi : integer ? r.hi + 1 : std::nextafter(r.hi, HUGE_VAL));
    if (r.sentinel && *r.sentinel < r.lo) out.push_back(*r.sentinel - 1);
    // NaN means "auto" to set() where the option takes auto; an integer field cannot hold it.
    if (!integer && (d.flags & accepts_auto) == 0) out.push_back(std::numeric_limits<double>::quiet_NaN());
    if (!integer) out.push_back(HUGE_VAL);
    // An int field cannot hold a value beyond its type (pca's range ends at INT_MAX).
    if (integer && std::isfinite(r.hi) && r.hi >= std::numeric_limits<int>::max()) out.erase(out.begin() + 1);
    std::vector<double> refused;
    for (double v : out)
        if (!(r.sentinel && v == *r.sentinel)) refused.push_back(v);
    return refused;
}

bool numeric(OptionKind kind) {
    return kind == OptionKind::real || kind == OptionKind::integer;
}

std::string refusal_of(const Options& o) {
    try {
        validate(o, -1, 0);
    } catch (const InvalidArgument& e) {
        return e.what();
    }
    return "";
}

std::string refusal_of(const TransformOptions& t) {
    try {
        validate(t);
    } catch (const InvalidArgument& e) {
        return e.what();
    }
    return "";
}

/// Each numeric field of a `Target` in `table`, set just outside its range, is refused by validate with the
/// field's own refusal, which starts with its label.
template <class Target, class Table>
void check_refused_just_outside(const Table& table) {
    for (const auto& d : table) {
        if (!numeric(d.kind)) continue;
        for (double v : just_outside(d)) {
            const std::string name = d.cli;
            CAPTURE(name);
            CAPTURE(v);
            Target o;
            d.set(o, v);
            if (d.unset && d.unset(o)) continue;  // NaN is "auto" for an optional field
            const std::string message = refusal_of(o);
            CHECK(message == d.refusal(v));
            CHECK(message.rfind(d.label, 0) == 0);
        }
    }
}

/// The words between "must be " and "; got" of a message.
std::string range_part(const std::string& message) {
    const auto begin = message.find(" must be ");
    const auto end = message.rfind("; got ");
    if (begin == std::string::npos || end == std::string::npos || end < begin) return "";
    return message.substr(begin + 9, end - begin - 9);
}

}  // namespace

TEST_CASE("option table: names are unique and every default lies in its own range") {
    std::set<std::string> cli, python;
    const Options defaults;
    for (const auto& d : option_table()) {
        const std::string name = d.cli;
        CAPTURE(name);
        CHECK(cli.insert(d.cli).second);
        CHECK(python.insert(d.python).second);
        CHECK(find_option(d.cli) == &d);
        CHECK_FALSE(d.help.empty());
        if (d.unset && d.unset(defaults)) continue;
        const double v = d.get(defaults);
        if (numeric(d.kind)) CHECK(d.refusal(v) == "");
        if (numeric(d.kind) && !(d.range.sentinel && v == *d.range.sentinel)) CHECK(d.range.contains(v));
        if (d.kind == OptionKind::enumeration) CHECK(v < static_cast<double>(d.names.size()));
    }
    const TransformOptions t;
    for (const auto& d : transform_option_table()) {
        const std::string name = d.cli;
        CAPTURE(name);
        CHECK(find_transform_option(d.cli) == &d);
        if (d.unset && d.unset(t)) continue;
        CHECK(d.refusal(d.get(t)) == "");
    }
    CHECK(refusal_of(defaults) == "");
    CHECK(refusal_of(t) == "");
}

TEST_CASE("option table: every enum name reads back as its enumerator") {
    for (const auto& e : method_names) CHECK(parse_method(to_string(e.value)) == e.value);
    for (const auto& e : backend_names) CHECK(parse_backend(to_string(e.value)) == e.value);
    for (const auto& e : metric_names) CHECK(parse_metric(to_string(e.value)) == e.value);
    for (const auto& e : affinity_kind_names) CHECK(parse_affinity_kind(to_string(e.value)) == e.value);
    for (const auto& e : init_names) CHECK(enum_value(init_names, to_string(e.value)) == e.value);
    CHECK_FALSE(parse_method("fft").has_value());
    CHECK(enum_choices(metric_names) == "euclidean, cosine, manhattan, chebyshev, jaccard, hamming or correlation");
    // An enumeration entry's names are its table's, and set(get(o)) is the identity.
    for (const auto& d : option_table()) {
        if (d.kind != OptionKind::enumeration) continue;
        for (std::size_t i = 0; i < d.names.size(); ++i) {
            Options o;
            d.set(o, static_cast<double>(i));
            CHECK(d.get(o) == static_cast<double>(i));
        }
    }
}

TEST_CASE("option table: validate refuses each field just outside its range, naming the field") {
    check_refused_just_outside<Options>(option_table());
    check_refused_just_outside<TransformOptions>(transform_option_table());
}

TEST_CASE("option table: range words") {
    OptionRange r;
    r.lo = 0;
    r.hi = 1e6;
    r.lo_open = true;
    CHECK(r.words() == "in (0, 1e6]");
    CHECK(range_words(r, accepts_auto, true) == "auto or in (0, 1e6]");
    CHECK(range_words(r, accepts_auto | auto_after, true) == "in (0, 1e6] or auto");
    CHECK(range_words(r, accepts_auto, false) == "in (0, 1e6]");
    CHECK(find_option("pca")->range.words() == "in [0, 2147483647]");
    CHECK(find_option("late-exaggeration")->range.words() == "> 0 (1 = off)");
    CHECK(find_option("k")->refusal(-1) == "k must be >= 0; got -1");
    CHECK(find_option("nndescent-leaf")->refusal(1) ==
          "nndescent leaf size must be 0 or in [2, 100000]; got 1");
}

#ifdef TREESNE_HAVE_CLI_LIB
namespace {

/// parse_cli's UsageError for `treesne embed x.csv -o y.csv --NAME TEXT` (transform: its command line).
std::string cli_refusal(const std::string& name, const std::string& text, bool transform = false) {
    std::vector<std::string> args =
        transform ? std::vector<std::string>{"treesne", "transform", "r.csv", "e.csv", "n.csv"}
                  : std::vector<std::string>{"treesne", "embed", "x.csv"};
    for (const std::string& a : {std::string("-o"), std::string("y.csv"), "--" + name + "=" + text})
        args.push_back(a);
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    try {
        cli::parse_cli(static_cast<int>(argv.size()), argv.data());
    } catch (const cli::UsageError& e) {
        return e.what();
    }
    return "";
}

/// v as the command line would spell it, exactly (17 digits: 1 + 2^-52 must not read back as 1).
std::string as_text(double v, OptionKind kind) {
    if (kind == OptionKind::integer) return std::to_string(static_cast<long long>(v));
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%.17g", v);
    return buffer;
}

}  // namespace

TEST_CASE("option table: the CLI refuses what the library refuses, with the same words") {
    for (const auto& d : option_table()) {
        if (!numeric(d.kind)) continue;
        for (double v : just_outside(d)) {
            if (!std::isfinite(v)) continue;  // the CLI's "expects a finite number" answers first
            const std::string name = d.cli;
            CAPTURE(name);
            CAPTURE(v);
            const std::string cli_message = cli_refusal(d.cli, as_text(v, d.kind));
            REQUIRE(cli_message.rfind(concat("--", d.cli, " must be "), 0) == 0);
            // Where "auto" is neither a word nor a number of the option, both give the range alike.
            if (!d.range.sentinel && !d.has(accepts_auto))
                CHECK(range_part(cli_message) == range_part(d.refusal(v)));
        }
    }
    for (const auto& d : transform_option_table()) {
        if (!numeric(d.kind)) continue;
        for (double v : just_outside(d)) {
            if (!std::isfinite(v)) continue;
            const std::string name = d.cli;
            CAPTURE(name);
            const std::string cli_message = cli_refusal(d.cli, as_text(v, d.kind), true);
            REQUIRE(cli_message.rfind(concat("--", d.cli, " must be "), 0) == 0);
            if (!d.has(accepts_auto)) CHECK(range_part(cli_message) == range_part(d.refusal(v)));
        }
    }
}
#endif

// The option table: one descriptor per user-facing field of Options (and of TransformOptions), and one
// name table per enum. The CLI, the Python module, validate() and the checkpoint's record of the settings
// all read these, so an option is declared once.
//
// Adding an option:
//   1. the field, with its default initialiser and a doc comment, in options.hpp (or transform.hpp);
//   2. one OptionDescriptor in src/core/option_table.cpp: CLI name, Python keyword, value name, help,
//      kind, range, accessors and flags (its default is read from a default-constructed Options);
//   3. the code that uses the value;
//   4. a test (tests/test_validation.cpp checks every entry's default against its range already);
//   5. its line in README.md's option tables.
// The CLI and the Python module pick the new entry up from the table; a cross-field rule goes into
// validate() (options.cpp) as code.
//
// Thread safety: everything here is immutable after static initialisation; safe to read concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "treesne/core/options.hpp"

namespace treesne {

struct TransformOptions;

/// One enumerator and the name the CLI, Python and messages use for it.
template <class Enum>
struct EnumName {
    Enum value;
    const char* name;
};

/// The names of Method, KnnBackend, Metric, InitKind and AffinityKind, in declaration order. to_string(),
/// the parse_* functions, the CLI's messages and Python's keyword values all come from these.
inline constexpr std::array<EnumName<Method>, 3> method_names{{{Method::barnes_hut, "barnes_hut"},
                                                               {Method::exact_tsne, "exact_tsne"},
                                                               {Method::exact_sne, "exact_sne"}}};
inline constexpr std::array<EnumName<KnnBackend>, 5> backend_names{{{KnnBackend::automatic, "auto"},
                                                                    {KnnBackend::kdtree, "kdtree"},
                                                                    {KnnBackend::brute, "brute"},
                                                                    {KnnBackend::hnsw, "hnsw"},
                                                                    {KnnBackend::nndescent, "nndescent"}}};
inline constexpr std::array<EnumName<Metric>, 7> metric_names{{{Metric::euclidean, "euclidean"},
                                                               {Metric::cosine, "cosine"},
                                                               {Metric::manhattan, "manhattan"},
                                                               {Metric::chebyshev, "chebyshev"},
                                                               {Metric::jaccard, "jaccard"},
                                                               {Metric::hamming, "hamming"},
                                                               {Metric::correlation, "correlation"}}};
inline constexpr std::array<EnumName<InitKind>, 3> init_names{
    {{InitKind::pca, "pca"}, {InitKind::random, "random"}, {InitKind::user, "user"}}};
inline constexpr std::array<EnumName<AffinityKind>, 3> affinity_kind_names{
    {{AffinityKind::perplexity, "perplexity"},
     {AffinityKind::sigma, "sigma"},
     {AffinityKind::uniform, "uniform"}}};

/// The name of `value` in `names`, "?" when absent.
template <class Enum, std::size_t N>
constexpr const char* enum_name(const std::array<EnumName<Enum>, N>& names, Enum value) {
    for (const auto& entry : names)
        if (entry.value == value) return entry.name;
    return "?";
}

/// The enumerator named `name` exactly, or nullopt.
template <class Enum, std::size_t N>
std::optional<Enum> enum_value(const std::array<EnumName<Enum>, N>& names, std::string_view name) {
    for (const auto& entry : names)
        if (name == entry.name) return entry.value;
    return std::nullopt;
}

/// "a, b or c": the names as a message lists the choices.
template <class Enum, std::size_t N>
std::string enum_choices(const std::array<EnumName<Enum>, N>& names) {
    std::string out;
    for (std::size_t i = 0; i < N; ++i)
        out += std::string(i == 0 ? "" : i + 1 == N ? " or " : ", ") + names[i].name;
    return out;
}

/// What an option's value is.
enum class OptionKind {
    real,         ///< a finite double
    integer,      ///< an integer (int or index_t field)
    enumeration,  ///< one of the names of an enum's name table
    seed,         ///< an integer in [0, 2^64)
    flag,         ///< a switch, true or false
};

/// The values an option accepts: lo .. hi with closed or open ends (hi = +inf: unbounded), and an
/// optional sentinel outside that range meaning "auto" or "off" (0 = auto for k; -1 = after early
/// exaggeration for momentum_switch).
struct OptionRange {
    double lo = -std::numeric_limits<double>::infinity();
    double hi = std::numeric_limits<double>::infinity();
    bool lo_open = false;
    bool hi_open = false;
    std::optional<double> sentinel;  ///< the "auto" value outside [lo, hi], if any
    const char* note = nullptr;      ///< what a value in range means specially, "1 = off"; shown in messages

    /// Whether v is finite and lies in [lo, hi] (ends as declared); the sentinel is not in range.
    bool contains(double v) const;
    /// The range in words: ">= 0", "> 0", "in [0, 1)", "in (0, 1e6]", "in [1, 3]", with the note.
    std::string words() const;
};

/// Where an option sits (which aggregate's validate() owns it).
enum class OptionGroup { general, neighbors, affinities, optimizer, transform };

/// Flags of an option.
enum OptionFlags : unsigned {
    option_no_flags = 0,
    shapes_p = 1u << 0,             ///< changes the input affinities P (a checkpoint records it)
    shapes_trajectory = 1u << 1,    ///< changes the optimisation's steps (a checkpoint records it)
    accepts_auto = 1u << 2,         ///< the CLI and Python take the word "auto" (the sentinel, or unset)
    auto_sentinel_given = 1u << 3,  ///< the CLI also takes the sentinel number itself ("0" for auto)
    auto_after = 1u << 4,           ///< messages write "RANGE or auto" rather than "auto or RANGE"
};

/// What every option states, whichever aggregate holds its field: names, help, kind, range and flags.
struct OptionText {
    OptionText(const char* cli_, const char* python_, const char* label_, const char* value_name_,
               std::string help_, const char* default_text_, OptionKind kind_, OptionRange range_, unsigned flags_)
        : cli(cli_),
          python(python_),
          label(label_),
          value_name(value_name_),
          help(std::move(help_)),
          default_text(default_text_),
          kind(kind_),
          range(range_),
          flags(flags_) {}

    const char* cli;         ///< CLI name without "--": "max-step-norm"
    const char* python;      ///< keyword of treesne.TSNE / of the module's option dicts: "max_step_norm"
    const char* label;       ///< the field in words, as library messages name it: "max step norm"
    const char* value_name;  ///< the CLI's value placeholder: "S", "auto|EF"
    std::string help;        ///< the CLI's help text, without the default
    /// The default as the help shows it when not the field's value ("auto"); nullptr: the value; "": the
    /// help shows none.
    const char* default_text;
    OptionKind kind;
    OptionRange range;
    unsigned flags;

    bool has(unsigned flag) const { return (flags & flag) != 0; }
    /// The library's complaint about v ("max step norm must be >= 0; got -1"), empty when v is valid
    /// (in range or the sentinel; NaN is refused).
    std::string refusal(double v) const;
};

/// One user-facing option of Options: its text (OptionText), group and field. Integer and real fields
/// are read and written as double: exact up to 2^53 (every bounded range lies within), rounded beyond
/// (an unbounded count such as --iterations 2^60 is a run that never ends either way).
struct OptionDescriptor : OptionText {
    OptionDescriptor(const char* cli_, const char* python_, const char* label_, const char* value_name_,
                     std::string help_, const char* default_text_, OptionKind kind_, OptionGroup group_,
                     OptionRange range_, unsigned flags_, double (*get_)(const Options&),
                     void (*set_)(Options&, double), std::vector<const char*> names_ = {},
                     bool (*unset_)(const Options&) = nullptr,
                     double (*effective_)(const Options&, index_t, index_t) = nullptr)
        : OptionText(cli_, python_, label_, value_name_, std::move(help_), default_text_, kind_, range_, flags_),
          group(group_),
          get(get_),
          set(set_),
          names(std::move(names_)),
          unset(unset_),
          effective(effective_) {}

    OptionGroup group;
    /// The field's value (enumerations: the enumerator's index in its name table); NaN when "auto" is
    /// no number (see unset).
    double (*get)(const Options&);
    /// Sets the field (enumerations: by index); NaN sets "auto".
    void (*set)(Options&, double);
    /// Enumerations: the names in table order (empty otherwise).
    std::vector<const char*> names;
    /// For a field whose "auto" is no number (an empty std::optional): whether it is auto.
    bool (*unset)(const Options&);
    /// The value a run of n points in d dimensions uses, where that differs from get(): auto resolved
    /// (the backend, k, the learning rate), 0 where the option has no effect (hnsw's parameters under
    /// another backend), NaN for theta auto. nullptr: get().
    double (*effective)(const Options&, index_t n, index_t d);

    /// effective(o, n, d), or get(o) where the entry has none.
    double in_effect(const Options& o, index_t n, index_t d) const;
    /// The default, from a default-constructed Options, as the help shows it ("0.5", "auto", "pca").
    std::string default_shown() const;
};

/// Every option of Options, in the CLI's order of checks. Immutable.
const std::vector<OptionDescriptor>& option_table();

/// The option whose CLI name is `cli`, or nullptr.
const OptionDescriptor* find_option(std::string_view cli);

/// One option of TransformOptions: its text and field (the transform's other settings, pca, knn, theta,
/// dof, seed, threads, log-every, are Options' entries).
struct TransformOptionDescriptor : OptionText {
    TransformOptionDescriptor(const char* cli_, const char* python_, const char* label_,
                              const char* value_name_, std::string help_, const char* default_text_,
                              OptionKind kind_, OptionRange range_, unsigned flags_,
                              double (*get_)(const TransformOptions&),
                              void (*set_)(TransformOptions&, double),
                              bool (*unset_)(const TransformOptions&) = nullptr)
        : OptionText(cli_, python_, label_, value_name_, std::move(help_), default_text_, kind_, range_, flags_),
          get(get_),
          set(set_),
          unset(unset_) {}

    double (*get)(const TransformOptions&);
    void (*set)(TransformOptions&, double);
    bool (*unset)(const TransformOptions&);

    /// As OptionDescriptor::default_shown, from a default-constructed TransformOptions.
    std::string default_shown() const;
};

/// Every option of TransformOptions. Immutable.
const std::vector<TransformOptionDescriptor>& transform_option_table();

/// The transform option whose CLI name is `cli`, or nullptr.
const TransformOptionDescriptor* find_transform_option(std::string_view cli);

/// Throws InvalidArgument with the first table entry of `group` whose value `options` holds out of range.
void check_option_ranges(const Options& options, OptionGroup group);

/// Throws InvalidArgument with the first transform table entry whose value `t` holds out of range.
void check_option_ranges(const TransformOptions& t);

/// A value as library messages write it: integers in digits, others as concat() writes them.
std::string format_option_value(double v, OptionKind kind);

/// Short decimal text that reads back as exactly v ("0.5", "30", "1e-05"): defaults in the help.
std::string format_number(double v);

/// The words of a range as a message gives them, with "auto" where the option takes it:
/// "in [0, 100000]", "auto or > 0", ">= 0 or auto".
std::string range_words(const OptionRange& range, unsigned flags, bool with_auto);

}  // namespace treesne

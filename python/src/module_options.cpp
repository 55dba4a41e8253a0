// treesne._treesne: option dictionaries from the package to the library's aggregates through the option
// tables (core/option_table.hpp), and the defaults back, so that every option has one source of truth.
#include <array>
#include <cstdint>

#include "module.hpp"
#include "treesne/eval/accuracy.hpp"

namespace treesne::python {
namespace {

/// The enumerator named `name` in `names`, or the ValueError naming the parameter `key` and the choices
/// (`extra`: a further choice the package handles before the library, as metric's "precomputed").
template <class Enum, std::size_t N>
Enum named(const char* key, const std::array<EnumName<Enum>, N>& names, const std::string& name,
           const char* extra = nullptr) {
    if (const auto value = enum_value(names, name)) return *value;
    std::string choices = enum_choices(names);
    if (extra) choices = concat(choices.replace(choices.rfind(" or "), 4, ", "), " or ", extra);
    throw InvalidArgument(concat(key, " must be ", choices, "; got '", name, "'"));
}

/// The index in entry.names of the enum value `name`: the package's parameter names for the messages.
double enum_index_of(const OptionDescriptor& entry, const std::string& name) {
    const std::string key = entry.python;
    if (key == "knn") return static_cast<double>(named("neighbors", backend_names, name));
    if (key == "metric") return static_cast<double>(metric_named(name));
    if (key == "method") return static_cast<double>(named("method", method_names, name));
    return static_cast<double>(named("affinity", affinity_kind_names, name));
}

/// init: "pca", "random" or an array (then InitKind::user with the coordinates).
void read_init(const py::object& init, Options& o) {
    if (py::isinstance<py::str>(init)) {
        const auto name = init.cast<std::string>();
        if (name == "pca") {
            o.init = InitKind::pca;
        } else if (name == "random") {
            o.init = InitKind::random;
        } else {
            throw InvalidArgument(concat("init must be 'pca', 'random' or an array; got '", name, "'"));
        }
    } else {
        o.init = InitKind::user;
        Input y0 = as_input(init, "init");
        o.init_coordinates = y0.copied ? std::move(y0.owned) : Matrix(y0.view);
    }
}

/// A number of a table entry from Python, refused at once when out of range (before set() narrows it
/// to the field's type).
template <class Descriptor>
double checked_number(const Descriptor& entry, const py::object& value) {
    const double v = entry.kind == OptionKind::integer ? static_cast<double>(value.cast<long long>())
                                                       : value.cast<double>();
    const std::string refusal = entry.refusal(v);
    if (!refusal.empty()) throw InvalidArgument(refusal);
    return v;
}

/// Reads the entries of `table` that the dictionary holds into `target`: a flag as a boolean, a number
/// checked against the entry's range, unless `special(entry, value)` read it (an entry that needs more
/// than a number) and returned true. None leaves a field at its default ("auto" for the optional ones).
template <class Table, class Target, class Special>
void read_table(OptionReader& r, const Table& table, Target& target, Special special) {
    for (const auto& entry : table) {
        r.mark(entry.python);
        if (!r.has(entry.python)) continue;
        const py::object value = r.at(entry.python);
        if (special(entry, value)) continue;
        entry.set(target, entry.kind == OptionKind::flag ? (value.cast<bool>() ? 1.0 : 0.0)
                                                         : checked_number(entry, value));
    }
}

/// A flag, integer or real entry's value in `a` as Python's bool, int or float.
template <class Descriptor, class Aggregate>
py::object number_default(const Descriptor& entry, const Aggregate& a) {
    const double v = entry.get(a);
    if (entry.kind == OptionKind::flag) return py::bool_(v != 0);
    if (entry.kind == OptionKind::integer) return py::int_(static_cast<long long>(v));
    return py::float_(v);
}

}  // namespace

Metric metric_named(const std::string& name) {
    return named("metric", metric_names, name, "precomputed");
}

Options options_from(const py::dict& d) {
    Options o;
    OptionReader r(d);
    read_table(r, option_table(), o, [&o](const OptionDescriptor& entry, const py::object& value) {
        if (std::string(entry.python) == "init") {
            read_init(value, o);
        } else if (entry.kind == OptionKind::enumeration) {
            entry.set(o, enum_index_of(entry, value.cast<std::string>()));
        } else if (entry.kind == OptionKind::seed) {
            o.seed = value.cast<std::uint64_t>();  // beyond the doubles set() takes
        } else {
            return false;
        }
        return true;
    });
    r.get("more_perplexities", o.affinities.more_perplexities);
    r.get("theta_auto", o.optimizer.theta_auto);
    r.finish();
    return o;
}

TransformOptions transform_options_from(const py::dict& d) {
    TransformOptions t;
    OptionReader r(d);
    read_table(r, transform_option_table(), t,
               [](const TransformOptionDescriptor&, const py::object&) { return false; });
    r.finish();
    return t;
}

py::dict default_options() {
    const Options o;
    py::dict e;
    for (const OptionDescriptor& entry : option_table()) {
        if (entry.unset && entry.unset(o)) {
            e[entry.python] = py::none();
        } else if (entry.kind == OptionKind::enumeration) {
            e[entry.python] = entry.names.at(static_cast<std::size_t>(entry.get(o)));
        } else if (entry.kind == OptionKind::seed) {
            e[entry.python] = o.seed;  // beyond what get()'s double holds exactly
        } else {
            e[entry.python] = number_default(entry, o);
        }
    }
    e["more_perplexities"] = o.affinities.more_perplexities;
    e["theta_auto"] = o.optimizer.theta_auto;
    const TransformOptions t;
    py::dict tr;
    for (const TransformOptionDescriptor& entry : transform_option_table())
        tr[entry.python] = entry.unset && entry.unset(t) ? py::object(py::none()) : number_default(entry, t);
    const AccuracyOptions a;
    py::dict ac;
    ac["thetas"] = a.thetas;
    ac["monopole"] = a.monopole;
    ac["runs"] = a.runs;
    ac["sample"] = a.sample;
    ac["k"] = a.k;
    ac["timing_calls"] = a.timing_calls;
    ac["timing_seconds"] = a.timing_seconds;
    py::dict all;
    all["embed"] = e;
    all["transform"] = tr;
    all["accuracy"] = ac;
    all["early_stop_window"] = early_stop_window;
    all["transform_auto_perplexity"] = transform_auto_perplexity;
    return all;
}

}  // namespace treesne::python

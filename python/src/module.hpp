// The private interface between the files of treesne._treesne (python/src/): arrays in and out
// (module_arrays.cpp), option dictionaries (module_options.cpp) and the bridged library calls
// (module_run.cpp) that module.cpp registers. Not installed; nothing outside python/src includes it.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <utility>
#include <vector>

#include "treesne/treesne.hpp"

namespace py = pybind11;

namespace treesne::python {

// --- arrays (module_arrays.cpp) -----------------------------------------------------------------------

/// A 2-D input as the library wants it (row-major doubles): a view of the caller's buffer when it is
/// C-contiguous float64 already, else one converting copy (float32, Fortran order, strided, integers).
struct Input {
    py::object keep;  ///< the array the view points into, held alive while the library reads it
    Matrix owned;     ///< the converted copy, when one was needed
    ConstMatrixView view;
    bool copied = false;
};

/// `obj` as an Input; `what` names it in the messages (not an array, not 2-D, not numbers).
Input as_input(const py::handle& obj, const char* what);

/// A NumPy array that owns the vector's storage (no copy).
template <class T>
py::array_t<T> to_numpy(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
    auto* owner = new std::vector<T>(std::move(v));
    py::capsule free_when_done(owner, [](void* p) { delete static_cast<std::vector<T>*>(p); });
    return py::array_t<T>(shape, owner->data(), free_when_done);
}

/// A NumPy array that takes over the matrix's storage (no copy).
py::array_t<double> to_numpy(Matrix&& m);

/// A NumPy array holding a copy of the view (the library's view is valid during a callback only).
py::array_t<double> copy_to_numpy(ConstMatrixView v);

// --- options (module_options.cpp) ---------------------------------------------------------------------

/// Reads a dictionary of library option names (python/treesne/_options.py builds it from the
/// estimator's parameters) into Options; an unknown key is a programming error of the package.
class OptionReader {
  public:
    explicit OptionReader(const py::dict& d) : d_(d) {}

    template <class T>
    void get(const char* key, T& field) {
        if (d_.contains(key)) field = d_[key].cast<T>();
        used_.emplace_back(key);
    }

    void finish() const {
        for (const auto& item : d_) {
            const auto key = item.first.cast<std::string>();
            bool known = false;
            for (const auto& u : used_) known = known || u == key;
            if (!known) throw InvalidArgument(concat("unknown option '", key, "'"));
        }
    }

    /// Marks a key read by hand (its value needs more than a cast).
    void mark(const char* key) { used_.emplace_back(key); }

    bool has(const char* key) const { return d_.contains(key) && !d_[key].is_none(); }
    py::object at(const char* key) const { return d_[key]; }

  private:
    const py::dict& d_;
    std::vector<std::string> used_;
};

/// The metric named `name`, or the ValueError listing the choices (and "precomputed").
Metric metric_named(const std::string& name);

/// Reads a dictionary of library option names (python/treesne/_options.py builds it from the estimator's
/// parameters) into Options through the option table; None leaves a field at its default ("auto" for
/// the optional ones).
Options options_from(const py::dict& d);

/// The same for the transform option table.
TransformOptions transform_options_from(const py::dict& d);

/// Every option's default, read from default-constructed aggregates: the package's signatures take
/// their defaults from here, so the library, the CLI and Python cannot disagree (STYLE habit 1).
py::dict default_options();

// --- the library calls (module_run.cpp); their arguments are documented where module.cpp registers them

py::dict embed_py(const py::handle& x_obj, const py::dict& options_dict, const py::object& observer,
                  const py::object& stage, bool interruptible, bool keep_affinities,
                  const py::object& memory_limit, const std::string& input_kind, const py::object& affinities,
                  const py::object& neighbors);
/// X: (indptr, indices, data, (rows, cols)), CSR rows (see SparseInput in module_run.cpp).
py::dict embed_sparse_py(const py::tuple& x_obj, const py::dict& options_dict, const py::object& observer,
                         const py::object& stage, bool interruptible, bool keep_affinities,
                         const py::object& memory_limit);
py::tuple neighbors_sparse_py(const py::tuple& x_obj, index_t k, const py::dict& options_dict);
py::tuple affinities_sparse_py(const py::tuple& x_obj, const py::dict& options_dict);
py::tuple neighbors_py(const py::handle& x_obj, index_t k, const py::dict& options_dict, bool distances);
py::tuple affinities_py(const py::handle& x_obj, const py::dict& options_dict, bool distances);
py::dict evaluate_py(const py::handle& x_obj, const py::handle& y_obj, const py::object& labels_obj,
                     double perplexity, index_t k, index_t trust_queries, int pca_dims, index_t sample,
                     std::uint64_t seed, int threads, double dof, const std::string& metric_name);
py::dict evaluate_defaults();
py::dict accuracy_py(const py::handle& x_obj, const py::dict& options_dict, const py::dict& accuracy_dict,
                     const py::object& labels_obj, const py::object& stage, bool interruptible);
py::array_t<double> transform_py(const py::handle& x_ref_obj, const py::handle& y_ref_obj,
                                 const py::handle& x_new_obj, const py::dict& options_dict,
                                 const py::dict& transform_dict, const py::object& observer,
                                 bool interruptible);

}  // namespace treesne::python

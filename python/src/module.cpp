// treesne._treesne: the pybind11 layer over the library's public API (include/treesne/). It converts
// arrays and option dictionaries, releases the GIL around every computation, routes progress and
// cancellation, and maps the library's exceptions to Python's. No algorithm lives here: the estimator,
// the argument names and the progress lines are in the Python package (python/treesne/). This file
// registers the functions; module_arrays.cpp, module_options.cpp and module_run.cpp implement them.
#include "module.hpp"

#include <exception>

namespace treesne::python {
namespace {

void translate_exceptions() {
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const InvalidArgument& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        } catch (const IoError& e) {
            PyErr_SetString(PyExc_OSError, e.what());
        } catch (const NumericalError& e) {
            PyErr_SetString(PyExc_ArithmeticError, e.what());
        }
    });
}

}  // namespace
}  // namespace treesne::python

PYBIND11_MODULE(_treesne, m) {
    using namespace treesne::python;
    m.doc() = "treesne's C++ engine (use the treesne package, not this module)";
    translate_exceptions();
    m.attr("__version__") = treesne::version;
    m.def("embed", &embed_py, py::arg("X"), py::arg("options"), py::arg("observer") = py::none(),
          py::arg("stage") = py::none(), py::arg("interruptible") = false, py::arg("keep_affinities") = false,
          py::arg("memory_limit") = py::none(), py::arg("input_kind") = "coordinates",
          py::arg("affinities") = py::none(), py::arg("neighbors") = py::none());
    // X: sparse rows (indptr, indices, data, (rows, cols)), CSR as python/treesne/_checks.py makes it.
    m.def("embed_sparse", &embed_sparse_py, py::arg("X"), py::arg("options"), py::arg("observer") = py::none(),
          py::arg("stage") = py::none(), py::arg("interruptible") = false, py::arg("keep_affinities") = false,
          py::arg("memory_limit") = py::none());
    m.def("nearest_neighbors_sparse", &neighbors_sparse_py, py::arg("X"), py::arg("k"), py::arg("options"));
    m.def("affinities_sparse", &affinities_sparse_py, py::arg("X"), py::arg("options"));
    m.def("nearest_neighbors", &neighbors_py, py::arg("X"), py::arg("k"), py::arg("options"),
          py::arg("distances") = false);
    m.def("affinities", &affinities_py, py::arg("X"), py::arg("options"), py::arg("distances") = false);
    m.def("evaluate", &evaluate_py, py::arg("X"), py::arg("Y"), py::arg("labels"), py::arg("perplexity"),
          py::arg("k"), py::arg("trust_queries"), py::arg("pca_dims"), py::arg("sample"), py::arg("seed"),
          py::arg("threads"), py::arg("dof") = 1.0, py::arg("metric") = "euclidean");
    m.def("evaluate_defaults", &evaluate_defaults);
    m.def("accuracy", &accuracy_py, py::arg("X"), py::arg("options"), py::arg("accuracy"), py::arg("labels"),
          py::arg("stage") = py::none(), py::arg("interruptible") = false);
    m.def("transform", &transform_py, py::arg("X_ref"), py::arg("Y_ref"), py::arg("X_new"),
          py::arg("options"), py::arg("transform"), py::arg("observer") = py::none(),
          py::arg("interruptible") = false);
    m.def("default_options", &default_options);
    m.def(
        "neighbor_count",
        [](double perplexity, treesne::index_t n) { return treesne::neighbor_count(perplexity, n); },
        py::arg("perplexity"), py::arg("n"));
    m.def("affinity_neighbor_count", [](const py::dict& options, treesne::index_t n) {
        return treesne::neighbor_count(options_from(options).affinities, n);
    });
    m.def("resolve_learning_rate", [](const py::dict& options, treesne::index_t n) {
        return treesne::resolve_learning_rate(options_from(options).optimizer, n);
    });
}

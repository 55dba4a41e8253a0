// treesne._treesne: NumPy arrays to the library's matrices and back, without a copy where the layout allows.
#include <cstring>

#include "module.hpp"

namespace treesne::python {
namespace {

template <class T>
void copy_strided(const py::array& a, Matrix& m) {
    const auto* base = static_cast<const char*>(a.data());
    const py::ssize_t s0 = a.strides(0), s1 = a.strides(1);
    for (index_t i = 0; i < m.rows(); ++i)
        for (index_t j = 0; j < m.cols(); ++j) {
            T v;
            std::memcpy(&v, base + i * s0 + j * s1, sizeof v);  // memcpy: the buffer need not be aligned
            m(i, j) = static_cast<double>(v);
        }
}

}  // namespace

Input as_input(const py::handle& obj, const char* what) {
    py::array a = py::array::ensure(obj);
    if (!a) throw InvalidArgument(concat(what, " is not an array"));
    if (a.ndim() != 2)
        throw InvalidArgument(concat(what, " must be a 2-D array (points x dimensions); got ", a.ndim(),
                                     a.ndim() == 1 ? " dimension" : " dimensions"));
    Input in;
    const index_t rows = a.shape(0), cols = a.shape(1);
    const int flags = a.flags();
    if (py::isinstance<py::array_t<double>>(a) && (flags & py::array::c_style) &&
        (flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_)) {
        in.keep = a;
        in.view = {static_cast<const double*>(a.data()), rows, cols};
        return in;
    }
    in.owned = Matrix(rows, cols);
    in.copied = true;
    if (py::isinstance<py::array_t<double>>(a)) {
        copy_strided<double>(a, in.owned);
    } else if (py::isinstance<py::array_t<float>>(a)) {
        copy_strided<float>(a, in.owned);
    } else {
        const auto converted = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
        if (!converted) throw InvalidArgument(concat(what, " must hold numbers"));
        std::memcpy(in.owned.data(), converted.data(),
                    sizeof(double) * static_cast<std::size_t>(rows * cols));
    }
    in.view = in.owned.view();
    return in;
}

py::array_t<double> to_numpy(Matrix&& m) {
    const index_t rows = m.rows(), cols = m.cols();
    return to_numpy(std::move(m.storage()), {rows, cols});
}

py::array_t<double> copy_to_numpy(ConstMatrixView v) {
    py::array_t<double> out({v.rows, v.cols});
    if (v.size() > 0)
        std::memcpy(out.mutable_data(), v.data, sizeof(double) * static_cast<std::size_t>(v.size()));
    return out;
}

}  // namespace treesne::python

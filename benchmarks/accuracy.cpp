// treesne_accuracy: Barnes-Hut t-SNE against the exact method.
//
//  1. Gradient error. At three fixed embeddings -- the PCA initialisation (exaggeration 12), the embedding
//     after the early-exaggeration phase (iteration 250 of a theta = 0.5 Barnes-Hut run, exaggeration 1:
//     the gradient of the next step) and the final embedding of that same run (exaggeration 1) -- the
//     Barnes-Hut gradient (SpaceTree<2>, quadrupole and monopole) at each theta is compared with the exact
//     O(N^2) gradient over the same sparse P made dense, and its Z with the exact Z. Reported: relative L2
//     error of the whole gradient, of its repulsive part alone, relative error of Z, and the median time of
//     one gradient evaluation (tree build included) beside the exact gradient's.
//  2. Optimisation outcome. A full run per theta, and one with the exact method (dense P over all pairs):
//     exact KL against the sparse P (exact Z), exact KL against the dense P, 10-NN preservation, 10-NN
//     accuracy (with labels), wall time.
//
// Output: a table on stdout, PREFIX.json, PREFIX.csv and PREFIX.png (error and time against theta).
// Run `treesne_accuracy --help` for the options. Not part of ctest.
#include <cairo.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "treesne/gradient.hpp"
#include "treesne/io.hpp"
#include "treesne/parallel.hpp"
#include "treesne/space_tree.hpp"
#include "treesne/treesne.hpp"

namespace {

using treesne::ConstMatrixView;
using treesne::index_t;
using treesne::Matrix;

const char* const fashion_images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const char* const fashion_labels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";

struct Config {
    std::string input;
    std::string labels;
    index_t n = 2000;
    std::vector<double> thetas{0, 0.1, 0.25, 0.5, 0.75, 1.0};
    index_t iterations = 1000;
    int threads = 0;
    std::string out = "benchmarks/out/accuracy";
    bool skip_runs = false;
};

void usage() {
    std::cout
        << "treesne_accuracy [options]: Barnes-Hut t-SNE gradient and outcome against the exact method\n"
           "  --input FILE      data (any format treesne reads); default: Fashion-MNIST t10k if\n"
           "                    installed (first N rows, PCA to 50), else 10 Gaussian clusters in 50-D\n"
           "  --labels FILE     class labels for the kNN accuracy (default: Fashion-MNIST's)\n"
           "  --n N             points, first N rows (default 2000; the exact run is O(N^2))\n"
           "  --thetas LIST     comma-separated (default 0,0.1,0.25,0.5,0.75,1)\n"
           "  --iterations N    per full run (default 1000)\n"
           "  --threads N       (default 0 = all)\n"
           "  --out PREFIX      writes PREFIX.json, PREFIX.csv, PREFIX.png (default "
           "benchmarks/out/accuracy)\n"
           "  --skip-runs       gradient errors only, no full optimisations\n";
}

Config parse(int argc, char** argv) {
    Config c;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw treesne::InvalidArgument(a + " needs a value");
            return argv[++i];
        };
        if (a == "--input") {
            c.input = value();
        } else if (a == "--labels") {
            c.labels = value();
        } else if (a == "--n") {
            c.n = std::stoll(value());
        } else if (a == "--thetas") {
            c.thetas.clear();
            std::stringstream in(value());
            std::string item;
            while (std::getline(in, item, ',')) c.thetas.push_back(std::stod(item));
        } else if (a == "--iterations") {
            c.iterations = std::stoll(value());
        } else if (a == "--threads") {
            c.threads = std::stoi(value());
        } else if (a == "--out") {
            c.out = value();
        } else if (a == "--skip-runs") {
            c.skip_runs = true;
        } else if (a == "--help" || a == "-h") {
            usage();
            std::exit(0);
        } else {
            throw treesne::InvalidArgument("unknown option " + a + " (see --help)");
        }
    }
    treesne::require(c.n >= 100, "--n must be at least 100; got ", c.n);
    treesne::require(!c.thetas.empty(), "--thetas is empty");
    return c;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct Timing {
    double median = 0, min = 0;
};

/// Wall time of fn over 5 to 15 calls (stopping after about 3 seconds): median and minimum. On a shared
/// machine the minimum is the better estimate of the cost itself; the median shows what a run would see.
Timing time_calls(const std::function<void()>& fn) {
    std::vector<double> times;
    double total = 0;
    while (times.size() < 5 || (times.size() < 15 && total < 3.0)) {
        const auto start = std::chrono::steady_clock::now();
        fn();
        times.push_back(seconds_since(start));
        total += times.back();
    }
    std::sort(times.begin(), times.end());
    return {times[times.size() / 2], times.front()};
}

struct Data {
    Matrix x;
    std::vector<int> labels;
    std::string description;
};

/// 10 Gaussian clusters in 50-D: centres N(0, 3^2), points N(centre, 1).
Data gaussian_clusters(index_t n) {
    Data d;
    const index_t dim = 50, clusters = 10;
    treesne::Rng rng(7);
    Matrix centres(clusters, dim);
    for (double& v : centres.storage()) v = 3.0 * rng.normal();
    d.x = Matrix(n, dim);
    for (index_t i = 0; i < n; ++i) {
        const index_t c = i % clusters;
        for (index_t j = 0; j < dim; ++j) d.x(i, j) = centres(c, j) + rng.normal();
        d.labels.push_back(static_cast<int>(c));
    }
    d.description = "10 Gaussian clusters in 50-D (seed 7)";
    return d;
}

Matrix head(const Matrix& m, index_t n) {
    return Matrix(ConstMatrixView{m.data(), std::min(n, m.rows()), m.cols()});
}

Data load(const Config& c) {
    Data d;
    std::string source = c.input;
    std::string labels = c.labels;
    if (source.empty()) {
        if (!std::filesystem::exists(fashion_images)) return gaussian_clusters(c.n);
        source = fashion_images;
        if (labels.empty()) labels = fashion_labels;
    }
    d.x = head(treesne::io::read_matrix(source), c.n);
    d.description = source + ", first " + std::to_string(d.x.rows()) + " rows";
    if (d.x.cols() > 50) {
        d.x = treesne::pca(d.x, 50, c.threads).projected;
        d.description += ", PCA to 50";
    }
    if (!labels.empty()) {
        const auto l = treesne::io::read_labels(labels);
        treesne::require(static_cast<index_t>(l.codes.size()) >= d.x.rows(), "labels file ", labels, " has ",
                         l.codes.size(), " labels for ", d.x.rows(), " points");
        d.labels.assign(l.codes.begin(), l.codes.begin() + d.x.rows());
    }
    return d;
}

/// The sparse P as a dense N x N matrix, for the exact gradient over exactly the same affinities.
Matrix densify(const treesne::SparseMatrix& p) {
    Matrix dense(p.n, p.n);
    for (index_t i = 0; i < p.n; ++i)
        for (index_t e = p.offsets[static_cast<std::size_t>(i)];
             e < p.offsets[static_cast<std::size_t>(i) + 1]; ++e)
            dense(i, p.columns[static_cast<std::size_t>(e)]) = p.values[static_cast<std::size_t>(e)];
    return dense;
}

/// Exact Z = sum_{i != j} (1 + |y_i - y_j|^2)^-1, added in a fixed order.
double exact_z(ConstMatrixView y, int threads) {
    return treesne::parallel_sum(y.rows, threads, [&](index_t begin, index_t end) {
        double sum = 0;
        for (index_t i = begin; i < end; ++i) {
            double row = 0;
            for (index_t j = 0; j < y.rows; ++j) {
                if (j == i) continue;
                double d2 = 0;
                for (index_t k = 0; k < y.cols; ++k) d2 += (y(i, k) - y(j, k)) * (y(i, k) - y(j, k));
                row += 1.0 / (1.0 + d2);
            }
            sum += row;
        }
        return sum;
    });
}

double norm(const Matrix& a) {
    double s = 0;
    for (double v : a.storage()) s += v * v;
    return std::sqrt(s);
}

double distance(const Matrix& a, const Matrix& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.storage().size(); ++i)
        s += (a.storage()[i] - b.storage()[i]) * (a.storage()[i] - b.storage()[i]);
    return std::sqrt(s);
}

struct GradientRow {
    std::string embedding;
    double exaggeration = 1;
    double theta = 0;
    bool quadrupole = true;
    double grad_error = 0, repulsion_error = 0, z_error = 0;
    double ms = 0, ms_min = 0, exact_ms = 0, exact_ms_min = 0;  // median and minimum
};

struct RunRow {
    std::string method;  // "barnes_hut" or "exact_tsne"
    double theta = 0;
    double kl_sparse = 0, kl_dense = 0, knn_preservation = 0, knn_accuracy = NAN, seconds = 0;
};

/// Gradient errors and times at one embedding for every theta, quadrupole and monopole.
std::vector<GradientRow> gradient_errors(const std::string& name, const Matrix& y, double exaggeration,
                                         const treesne::SparseMatrix& p, const Matrix& p_dense,
                                         const Config& c) {
    const index_t n = y.rows();
    Matrix exact(n, 2), attraction(n, 2), grad(n, 2);
    const Timing exact_s = time_calls(
        [&] { treesne::exact_tsne_gradient(p_dense, y, exact.view(), exaggeration, c.threads, false); });
    const double z_exact = exact_z(y, c.threads);
    // The attractive part is computed exactly by both, so the repulsive part of the exact gradient is
    // 4 alpha F_attr - grad; its norm is the scale of the Barnes-Hut error proper.
    treesne::attractive_forces(p, y, attraction.view(), c.threads);
    Matrix repulsion(n, 2);
    for (index_t i = 0; i < repulsion.size(); ++i)
        repulsion.storage()[static_cast<std::size_t>(i)] =
            4.0 * exaggeration * attraction.storage()[static_cast<std::size_t>(i)] -
            exact.storage()[static_cast<std::size_t>(i)];
    const double grad_norm = norm(exact), repulsion_norm = norm(repulsion);

    std::vector<GradientRow> rows;
    treesne::SpaceTree<2> tree;
    for (double theta : c.thetas) {
        for (bool quadrupole : {true, false}) {
            tree.set_quadrupole(quadrupole);
            double z = 0;
            const Timing s = time_calls([&] {
                z = treesne::barnes_hut_gradient<2>(p, y, tree, theta, exaggeration, grad.view(), c.threads);
            });
            GradientRow r;
            r.embedding = name;
            r.exaggeration = exaggeration;
            r.theta = theta;
            r.quadrupole = quadrupole;
            const double err = distance(grad, exact);
            r.grad_error = err / grad_norm;
            r.repulsion_error = err / repulsion_norm;
            r.z_error = std::abs(z - z_exact) / z_exact;
            r.ms = 1e3 * s.median;
            r.ms_min = 1e3 * s.min;
            r.exact_ms = 1e3 * exact_s.median;
            r.exact_ms_min = 1e3 * exact_s.min;
            rows.push_back(r);
        }
    }
    return rows;
}

RunRow evaluate(const std::string& method, double theta, const treesne::Result& result, const Data& data,
                const treesne::SparseMatrix& p, const Matrix& p_joint, int threads) {
    RunRow r;
    r.method = method;
    r.theta = theta;
    r.kl_sparse = treesne::exact_tsne_kl_sparse(p, result.y, threads);
    r.kl_dense = treesne::exact_tsne_kl(p_joint, result.y, threads);
    r.knn_preservation = treesne::knn_preservation(data.x, result.y, 10, threads);
    if (!data.labels.empty()) r.knn_accuracy = treesne::knn_accuracy(result.y, data.labels, 10, threads);
    r.seconds = result.timings.total;
    return r;
}

// ---- output -----------------------------------------------------------------------------------------

std::string fmt(double v, const char* spec = "%.4g") {
    if (std::isnan(v)) return "";
    char buf[64];
    std::snprintf(buf, sizeof buf, spec, v);
    return buf;
}

std::string json_number(double v) {
    return std::isnan(v) ? "null" : fmt(v, "%.9g");
}

void print_tables(const std::vector<GradientRow>& grads, const std::vector<RunRow>& runs) {
    std::printf(
        "\nGradient error against the exact gradient (same sparse P); time of one evaluation in ms,\n"
        "median and minimum of 5-15 calls\n");
    std::printf("%-10s %5s %5s %-10s %11s %11s %11s %9s %9s %9s %9s\n", "embedding", "alpha", "theta",
                "scheme", "grad_err", "repul_err", "Z_err", "ms_med", "ms_min", "exact_med", "exact_min");
    for (const auto& r : grads)
        std::printf("%-10s %5g %5g %-10s %11.3e %11.3e %11.3e %9.3f %9.3f %9.3f %9.3f\n", r.embedding.c_str(),
                    r.exaggeration, r.theta, r.quadrupole ? "quadrupole" : "monopole", r.grad_error,
                    r.repulsion_error, r.z_error, r.ms, r.ms_min, r.exact_ms, r.exact_ms_min);
    if (runs.empty()) return;
    std::printf(
        "\nFull runs: exact KL against sparse P (exact Z) and dense P, 10-NN preservation and accuracy\n");
    std::printf("%-11s %5s %10s %10s %9s %9s %9s\n", "method", "theta", "KL_sparse", "KL_dense", "10NN_pres",
                "10NN_acc", "wall_s");
    for (const auto& r : runs)
        std::printf("%-11s %5s %10.5f %10.5f %9.4f %9s %9.2f\n", r.method.c_str(),
                    r.method == "exact_tsne" ? "-" : fmt(r.theta, "%g").c_str(), r.kl_sparse, r.kl_dense,
                    r.knn_preservation, fmt(r.knn_accuracy, "%.4f").c_str(), r.seconds);
}

void write_csv(const std::string& path, const std::vector<GradientRow>& grads,
               const std::vector<RunRow>& runs) {
    treesne::io::AtomicFile f(path);
    f.write(
        "kind,embedding,exaggeration,method,theta,scheme,grad_rel_error,repulsion_rel_error,z_rel_error,"
        "ms_per_gradient_median,ms_per_gradient_min,exact_ms_per_gradient_median,exact_ms_per_gradient_min,"
        "kl_sparse,kl_dense,knn_preservation_10,knn_accuracy_10,wall_s\n");
    for (const auto& r : grads)
        f.write("gradient," + r.embedding + "," + fmt(r.exaggeration, "%g") + ",barnes_hut," +
                fmt(r.theta, "%g") + "," + (r.quadrupole ? "quadrupole" : "monopole") + "," +
                fmt(r.grad_error, "%.6e") + "," + fmt(r.repulsion_error, "%.6e") + "," +
                fmt(r.z_error, "%.6e") + "," + fmt(r.ms, "%.6g") + "," + fmt(r.ms_min, "%.6g") + "," +
                fmt(r.exact_ms, "%.6g") + "," + fmt(r.exact_ms_min, "%.6g") + ",,,,,\n");
    for (const auto& r : runs)
        f.write("run,final,1," + r.method + "," + (r.method == "exact_tsne" ? "" : fmt(r.theta, "%g")) + "," +
                (r.method == "exact_tsne" ? "exact" : "quadrupole") + ",,,,,,,," + fmt(r.kl_sparse, "%.8g") +
                "," + fmt(r.kl_dense, "%.8g") + "," + fmt(r.knn_preservation, "%.6g") + "," +
                fmt(r.knn_accuracy, "%.6g") + "," + fmt(r.seconds, "%.4f") + "\n");
    f.commit();
}

void write_json(const std::string& path, const Config& c, const Data& d,
                const std::vector<GradientRow>& grads, const std::vector<RunRow>& runs) {
    std::ostringstream o;
    o << "{\n  \"data\": \"" << d.description << "\",\n  \"n\": " << d.x.rows()
      << ",\n  \"d\": " << d.x.cols() << ",\n  \"iterations\": " << c.iterations
      << ",\n  \"threads\": " << treesne::resolve_threads(c.threads) << ",\n  \"gradient\": [\n";
    for (std::size_t i = 0; i < grads.size(); ++i) {
        const auto& r = grads[i];
        o << "    {\"embedding\": \"" << r.embedding << "\", \"exaggeration\": " << r.exaggeration
          << ", \"theta\": " << r.theta << ", \"scheme\": \"" << (r.quadrupole ? "quadrupole" : "monopole")
          << "\", \"grad_rel_error\": " << json_number(r.grad_error)
          << ", \"repulsion_rel_error\": " << json_number(r.repulsion_error)
          << ", \"z_rel_error\": " << json_number(r.z_error)
          << ", \"ms_per_gradient_median\": " << json_number(r.ms)
          << ", \"ms_per_gradient_min\": " << json_number(r.ms_min)
          << ", \"exact_ms_per_gradient_min\": " << json_number(r.exact_ms_min)
          << ", \"exact_ms_per_gradient_median\": " << json_number(r.exact_ms) << "}"
          << (i + 1 < grads.size() ? ",\n" : "\n");
    }
    o << "  ],\n  \"runs\": [\n";
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const auto& r = runs[i];
        o << "    {\"method\": \"" << r.method
          << "\", \"theta\": " << (r.method == "exact_tsne" ? "null" : json_number(r.theta))
          << ", \"kl_sparse\": " << json_number(r.kl_sparse) << ", \"kl_dense\": " << json_number(r.kl_dense)
          << ", \"knn_preservation_10\": " << json_number(r.knn_preservation)
          << ", \"knn_accuracy_10\": " << json_number(r.knn_accuracy)
          << ", \"wall_s\": " << json_number(r.seconds) << "}" << (i + 1 < runs.size() ? ",\n" : "\n");
    }
    o << "  ]\n}\n";
    treesne::io::AtomicFile f(path);
    f.write(o.str());
    f.commit();
}

// ---- chart ------------------------------------------------------------------------------------------

struct Panel {
    double x0, y0, w, h;            // pixel box of the plotting area
    double tmin, tmax, lmin, lmax;  // theta range, log10 value range
    double px(double theta) const { return x0 + (theta - tmin) / (tmax - tmin) * w; }
    double py(double value) const { return y0 + h - (std::log10(value) - lmin) / (lmax - lmin) * h; }
};

void text(cairo_t* cr, double x, double y, const std::string& s, double align = 0.0, double size = 14) {
    cairo_set_font_size(cr, size);
    cairo_text_extents_t e;
    cairo_text_extents(cr, s.c_str(), &e);
    cairo_move_to(cr, x - align * e.width, y);
    cairo_show_text(cr, s.c_str());
}

void draw_axes(cairo_t* cr, const Panel& p, const std::vector<double>& thetas, const std::string& title,
               const std::string& ylabel) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, p.x0, p.y0, p.w, p.h);
    cairo_stroke(cr);
    for (int e = static_cast<int>(std::ceil(p.lmin)); e <= static_cast<int>(std::floor(p.lmax)); ++e) {
        const double y = p.py(std::pow(10.0, e));
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, p.x0, y);
        cairo_line_to(cr, p.x0 + p.w, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text(cr, p.x0 - 6, y + 5, "1e" + std::to_string(e), 1.0, 12);
        // Over a short range, also mark 2 and 5 times each decade.
        if (p.lmax - p.lmin > 3) continue;
        for (double m : {2.0, 5.0}) {
            const double v = m * std::pow(10.0, e);
            if (std::log10(v) > p.lmax) continue;
            text(cr, p.x0 - 6, p.py(v) + 5, fmt(v, "%g"), 1.0, 11);
        }
    }
    for (double t : thetas) text(cr, p.px(t), p.y0 + p.h + 18, fmt(t, "%g"), 0.5, 12);
    text(cr, p.x0 + p.w / 2, p.y0 + p.h + 40, "theta", 0.5);
    text(cr, p.x0 + p.w / 2, p.y0 - 12, title, 0.5, 16);
    cairo_save(cr);
    cairo_translate(cr, p.x0 - 58, p.y0 + p.h / 2);
    cairo_rotate(cr, -M_PI / 2);
    text(cr, 0, 0, ylabel, 0.5);
    cairo_restore(cr);
}

void polyline(cairo_t* cr, const Panel& p, const std::vector<std::pair<double, double>>& pts, bool dashed) {
    const double dash[] = {6, 4};
    cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
    cairo_set_line_width(cr, 2);
    for (std::size_t i = 0; i < pts.size(); ++i) {
        const double x = p.px(pts[i].first), y = p.py(pts[i].second);
        if (i == 0)
            cairo_move_to(cr, x, y);
        else
            cairo_line_to(cr, x, y);
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, dash, 0, 0);
    for (const auto& q : pts) {
        cairo_arc(cr, p.px(q.first), p.py(q.second), 3.5, 0, 2 * M_PI);
        cairo_fill(cr);
    }
}

void write_chart(const std::string& path, const std::vector<GradientRow>& grads,
                 const std::vector<double>& thetas, const std::vector<std::string>& embeddings,
                 const std::string& subtitle) {
    const double floor_value = 1e-16;  // theta = 0 is exact up to rounding: drawn at this floor
    const int width = 1500, height = 680;
    cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
    cairo_t* cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

    const double tmin = *std::min_element(thetas.begin(), thetas.end());
    const double tmax = std::max(*std::max_element(thetas.begin(), thetas.end()), tmin + 1e-9);
    auto range = [&](const std::function<double(const GradientRow&)>& f, bool with_exact) {
        double lo = 1e300, hi = 0;
        for (const auto& r : grads) {
            const double v = std::max(f(r), floor_value);
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            if (with_exact) hi = std::max(hi, r.exact_ms_min);
        }
        return std::make_pair(std::floor(std::log10(lo)), std::ceil(std::log10(hi)));
    };
    const auto er = range([](const GradientRow& r) { return r.grad_error; }, false);
    const auto tr = range([](const GradientRow& r) { return r.ms_min; }, true);
    const Panel left{90, 70, 560, 470, tmin, tmax, er.first, er.second};
    const Panel right{820, 70, 560, 470, tmin, tmax, tr.first, std::max(tr.second, tr.first + 1)};
    draw_axes(cr, left, thetas, "relative L2 error of the gradient", "||g_BH - g_exact|| / ||g_exact||");
    draw_axes(cr, right, thetas, "time of one gradient, tree build included (min of 5-15)", "milliseconds");
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, width / 2.0, 24, subtitle, 0.5, 15);

    const double colours[3][3] = {{0.12, 0.47, 0.71}, {0.85, 0.37, 0.01}, {0.17, 0.63, 0.17}};
    for (std::size_t e = 0; e < embeddings.size(); ++e) {
        const double* col = colours[e % 3];
        double exact_ms = 0;
        for (bool quad : {true, false}) {
            std::vector<std::pair<double, double>> err, ms;
            for (const auto& r : grads) {
                if (r.embedding != embeddings[e] || r.quadrupole != quad) continue;
                err.emplace_back(r.theta, std::max(r.grad_error, floor_value));
                ms.emplace_back(r.theta, std::max(r.ms_min, floor_value));
                exact_ms = r.exact_ms_min;
            }
            cairo_set_source_rgb(cr, col[0], col[1], col[2]);
            polyline(cr, left, err, !quad);
            polyline(cr, right, ms, !quad);
        }
        // The exact gradient's time, a dotted horizontal line per embedding.
        const double dots[] = {2, 3};
        cairo_set_dash(cr, dots, 2, 0);
        cairo_set_line_width(cr, 1.5);
        cairo_move_to(cr, right.x0, right.py(exact_ms));
        cairo_line_to(cr, right.x0 + right.w, right.py(exact_ms));
        cairo_stroke(cr);
        cairo_set_dash(cr, dots, 0, 0);
    }
    // Legend.
    double ly = 625;
    double lx = 90;
    for (std::size_t e = 0; e < embeddings.size(); ++e) {
        const double* col = colours[e % 3];
        cairo_set_source_rgb(cr, col[0], col[1], col[2]);
        cairo_rectangle(cr, lx, ly - 10, 22, 10);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text(cr, lx + 28, ly, embeddings[e] + " embedding");
        lx += 230;
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, 90, ly + 28,
         "solid: quadrupole (treesne default)   dashed: monopole (bhtsne)   dotted: exact O(N^2) gradient"
         "   theta 0 errors drawn at 1e-16");

    cairo_surface_flush(surface);
    treesne::io::AtomicFile f(path);
    const cairo_status_t status = cairo_surface_write_to_png(surface, f.temp_path().c_str());
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
    if (status != CAIRO_STATUS_SUCCESS) throw treesne::IoError("could not write " + path);
    f.commit();
}

}  // namespace

int main(int argc, char** argv) try {
    const Config c = parse(argc, argv);
    const Data data = load(c);
    const index_t n = data.x.rows();
    std::cerr << "data: " << data.description << " (" << n << " x " << data.x.cols() << ")\n";

    treesne::Options options;
    options.threads = c.threads;
    options.optimizer.iterations = c.iterations;
    options.report_every = 0;
    const auto graph =
        treesne::nearest_neighbors(data.x, treesne::neighbor_count(options.affinities.perplexity, n),
                                   treesne::KnnBackend::automatic, c.threads);
    const treesne::Affinities p = treesne::compute_affinities(graph, options.affinities, c.threads);
    const Matrix p_sparse_dense = densify(p);

    // The three embeddings: PCA init, after early exaggeration, final (all from one theta = 0.5 run).
    const Matrix y0 = treesne::initial_embedding(data.x, options);
    treesne::Session session(p, y0, options);
    session.run(options.optimizer.exaggeration_iterations);
    const Matrix y_ee = session.embedding();
    session.run(c.iterations);
    const Matrix y_final = session.embedding();
    const std::vector<std::string> names{"initial", "after_ee", "final"};

    std::vector<GradientRow> grads;
    const std::vector<std::pair<const Matrix*, double>> points{
        {&y0, options.optimizer.exaggeration}, {&y_ee, 1.0}, {&y_final, 1.0}};
    for (std::size_t e = 0; e < points.size(); ++e) {
        std::cerr << "gradients at the " << names[e] << " embedding\n";
        const auto rows = gradient_errors(names[e], *points[e].first, points[e].second, p, p_sparse_dense, c);
        grads.insert(grads.end(), rows.begin(), rows.end());
    }

    std::vector<RunRow> runs;
    if (!c.skip_runs) {
        const Matrix p_joint = treesne::dense_joint_probabilities(
            treesne::dense_conditional_probabilities(data.x, options.affinities, c.threads));
        for (double theta : c.thetas) {
            std::cerr << "full run, theta " << theta << "\n";
            treesne::Options o = options;
            o.optimizer.theta = theta;
            runs.push_back(
                evaluate("barnes_hut", theta, treesne::embed(data.x, o), data, p, p_joint, c.threads));
        }
        std::cerr << "full run, exact t-SNE\n";
        treesne::Options o = options;
        o.optimizer.method = treesne::Method::exact_tsne;
        runs.push_back(evaluate("exact_tsne", NAN, treesne::embed(data.x, o), data, p, p_joint, c.threads));
    }

    print_tables(grads, runs);
    const auto parent = std::filesystem::path(c.out).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    write_csv(c.out + ".csv", grads, runs);
    write_json(c.out + ".json", c, data, grads, runs);
    write_chart(c.out + ".png", grads, c.thetas, names,
                "Barnes-Hut vs exact t-SNE gradient: " + data.description + ", " +
                    std::to_string(treesne::resolve_threads(c.threads)) + " threads");
    std::cerr << "wrote " << c.out << ".{csv,json,png}\n";
    return 0;
} catch (const std::exception& e) {
    std::cerr << "treesne_accuracy: " << e.what() << "\n";
    return 1;
}

// Embeds three small clusters through the installed library and checks they come out separated.
#include <cstdio>
#include <treesne/io/io.hpp>
#include <treesne/treesne.hpp>

int main() {
    const int per = 40;
    treesne::Matrix x(3 * per, 4);
    treesne::Rng rng(1);
    std::vector<int> labels;
    for (int c = 0; c < 3; ++c)
        for (int p = 0; p < per; ++p) {
            for (int d = 0; d < 4; ++d) x(c * per + p, d) = 20.0 * (c == d) + rng.normal();
            labels.push_back(c);
        }
    treesne::Options options;
    options.affinities.perplexity = 10;
    options.optimizer.iterations = 600;
    const treesne::Result r = treesne::embed(x, options);
    const double accuracy = treesne::knn_accuracy(r.y, labels, 5, 0);
    std::printf("treesne %s: %ld x %ld, KL %.4f, 5-NN accuracy %.3f\n", treesne::version, (long)r.y.rows(),
                (long)r.y.cols(), r.kl, accuracy);
    return accuracy > 0.95 ? 0 : 1;
}

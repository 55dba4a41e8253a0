"""treesne: Barnes-Hut t-SNE on treesne's C++ engine.

    import treesne
    Y = treesne.TSNE(perplexity=30).fit_transform(X)       # X: N x D float32/float64 array-like

The estimator follows scikit-learn's conventions (get_params/set_params, clone, Pipeline). The staged
API and the measurements: nearest_neighbors, affinities, transform, evaluate, accuracy. The library
throws ValueError for bad input and options (one line, the CLI's message), OSError for files and
ArithmeticError for a diverging run or a run that would not fit in memory.
"""

from ._treesne import __version__
from ._tsne import TSNE
from ._functions import accuracy, affinities, evaluate, nearest_neighbors, transform

__all__ = ["TSNE", "nearest_neighbors", "affinities", "transform", "evaluate", "accuracy", "__version__"]

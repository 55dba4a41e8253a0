// treesne: Barnes-Hut t-SNE. The umbrella header: it only includes the engine's public headers (not
// treesne::io's io/, plot/ and checkpoint headers). docs/ARCHITECTURE.md describes the layers.
//
//   treesne::Options options;               // documented defaults
//   options.affinities.perplexity = 30;
//   treesne::Result r = treesne::embed(x, options);   // x: N x D ConstMatrixView or Matrix (api/embed.hpp)
#pragma once

#include "treesne/affinities/affinities.hpp"
#include "treesne/affinities/precomputed.hpp"
#include "treesne/api/embed.hpp"
#include "treesne/api/memory.hpp"
#include "treesne/api/transform.hpp"
#include "treesne/core/errors.hpp"
#include "treesne/core/hash.hpp"
#include "treesne/core/option_table.hpp"
#include "treesne/core/options.hpp"
#include "treesne/core/parallel.hpp"
#include "treesne/core/random.hpp"
#include "treesne/core/scale.hpp"
#include "treesne/core/sparse.hpp"
#include "treesne/core/system_memory.hpp"
#include "treesne/core/types.hpp"
#include "treesne/eval/accuracy.hpp"
#include "treesne/eval/evaluate.hpp"
#include "treesne/eval/metrics.hpp"
#include "treesne/knn/graph.hpp"
#include "treesne/knn/neighbors.hpp"
#include "treesne/knn/pca.hpp"
#include "treesne/optimize/init.hpp"
#include "treesne/optimize/observer.hpp"
#include "treesne/optimize/optimizer.hpp"
#include "treesne/optimize/session.hpp"
#include "treesne/tree/exact.hpp"
#include "treesne/tree/gradient.hpp"
#include "treesne/tree/space_tree.hpp"
#include "treesne/version.hpp"

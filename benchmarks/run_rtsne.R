#!/usr/bin/Rscript
# Rtsne (bhtsne's C++) under the peers.sh protocol.
#
# Rscript run_rtsne.R INPUT.csv OUTPUT.csv THREADS [SEED]
#
# Protocol: perplexity 30, 2-D, theta 0.5, 1000 iterations, exaggeration 12 for 250 (stop_lying_iter),
# momentum 0.5 -> 0.8 at 250 (mom_switch_iter), pca = FALSE (the input is already PCA-50),
# check_duplicates = FALSE, normalize = FALSE (every tool gets the same numbers), num_threads = THREADS.
# Init: Rtsne has no PCA init option, so the first two principal components (prcomp) scaled so column 1
# has sd 1e-4 -- treesne's and sklearn's PCA init -- go in as Y_init. Rtsne's defaults turn early
# exaggeration and the momentum switch off when Y_init is given, so both are passed explicitly (250).
# eta = 4 * max(N / 12, 200): bhtsne's gradient omits the factor 4 of dC/dy that treesne's includes,
# so this is the step size equivalent to treesne's learning rate max(N / 12, 200).
args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 3) stop("usage: run_rtsne.R INPUT.csv OUTPUT.csv THREADS [SEED]")
seed <- if (length(args) >= 4) as.integer(args[4]) else 42L
suppressPackageStartupMessages(library(Rtsne))
x <- as.matrix(read.csv(args[1], header = FALSE, colClasses = "numeric"))
n <- nrow(x)
eta <- 4 * max(n / 12, 200)
set.seed(seed)
y0 <- prcomp(x, center = TRUE, rank. = 2)$x
y0 <- y0 / sd(y0[, 1]) * 1e-4
start <- proc.time()[["elapsed"]]
r <- Rtsne(x, dims = 2, perplexity = 30, theta = 0.5, max_iter = 1000, pca = FALSE,
           check_duplicates = FALSE, normalize = FALSE, Y_init = y0,
           num_threads = as.integer(args[3]), exaggeration_factor = 12,
           stop_lying_iter = 250, mom_switch_iter = 250, momentum = 0.5, final_momentum = 0.8,
           eta = eta, verbose = FALSE)
elapsed <- proc.time()[["elapsed"]] - start
write.table(r$Y, args[2], sep = ",", row.names = FALSE, col.names = FALSE)
message(sprintf("Rtsne %s: n=%d eta=%.1f final cost=%.5f fit_s=%.2f", as.character(packageVersion("Rtsne")),
                n, eta, tail(r$itercosts, 1), elapsed))

"""The command line's progress lines (tools/run_common.hpp, class Progress; tools/run.cpp,
stage_detail), written to ``sys.stderr`` so that they reach notebooks too: a live line rewritten with
``\\r`` on a terminal, plain lines otherwise. Kept line for line equal to the CLI's by
tests/python/test_cli_parity.py."""

import math
import sys
import time


def format_seconds(s):
    """"1.23 s", "12.3 s", "2 min 05 s", "1 h 02 min" (format_seconds in tools/run_common.cpp)."""
    if not s >= 0:
        s = 0.0
    if s < 10:
        return "%.2f s" % s
    if s < 60:
        return "%.1f s" % s
    if s < 3600:
        total = _lround(s)
        return "%d min %02d s" % (total // 60, total % 60)
    total = _lround(s / 60)
    return "%d h %02d min" % (total // 60, total % 60)


def _lround(x):
    """C's lround: halves away from zero (Python's round() rounds halves to even)."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def format_value(v, precision=4):
    return "%.*f" % (precision, v)


def display_name(stage):
    return {"neighbors": "neighbours", "optimize": "optimise"}.get(stage, stage)


def _number(v):
    """A double as an ostream writes it by default (precision 6), as describe_affinities does."""
    return "%g" % v


def describe_affinities(options, k):
    """The affinities stage's detail (describe_affinities in tools/run.cpp): "perplexity 30 (k = 90)",
    "perplexities 30, 300 (k = 299)", "sigma 2 (k = 90)", "uniform (k = 15)"; or "given (relabelled for
    locality)" for precomputed affinities (options None)."""
    if options is None:
        return "given (relabelled for locality)"
    kind = options.get("affinity", "perplexity")
    if kind == "perplexity":
        more = options.get("more_perplexities", [])
        text = ("perplexities " if more else "perplexity ") + ", ".join(
            _number(p) for p in [options["perplexity"], *more])
    elif kind == "sigma":
        text = "sigma " + _number(options["sigma"])
    else:
        text = "uniform"
    return "%s (k = %d)" % (text, k)


class Progress:
    """Stage lines and iteration lines, as `treesne embed` prints them at its default verbosity."""

    def __init__(self, n, d, affinities_text, pca_dims, init_name, k, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        try:
            self.terminal = bool(self.stream.isatty())
        except Exception:
            self.terminal = False
        self.n, self.d, self.affinities_text, self.pca_dims = n, d, affinities_text, pca_dims
        self.init_name, self.k = init_name, k
        self.live_line = False
        self.last = None  # (iteration, kl) of the latest report
        self.stage_clock = time.monotonic()

    # --- library events ---------------------------------------------------------------------------

    def stage(self, event, stage, value):
        name = display_name(stage)
        if event == "start":
            self.stage_clock = time.monotonic()
            if self.terminal:
                self._live(name + " ...")
        elif event == "progress":
            if self.terminal:
                elapsed = time.monotonic() - self.stage_clock
                text = "%s: %d %%, %s elapsed" % (name, int(100 * value), format_seconds(elapsed))
                if 0.02 < value < 1:
                    text += ", ~%s left" % format_seconds(elapsed * (1 - value) / value)
                self._live(text)
        elif event == "done":
            detail = self._detail(name)
            self.line("%s: %s%s" % (name, detail + " in " if detail else "", format_seconds(value)))

    def iteration(self, iteration, total, phase, kl, seconds, theta, theta_error, first_iteration=0):
        self.last = (iteration, kl)
        done = iteration - first_iteration
        per_iteration = seconds / done if done > 0 else 0.0
        left = per_iteration * max(total - iteration, 0)
        suffix = {"early exaggeration": " (exaggerated)", "late exaggeration": " (late exaggeration)"}.get(phase, "")
        text = "optimise: %d/%d%s, KL %s" % (iteration, total, suffix, format_value(kl))
        if math.isfinite(theta_error):
            text += ", theta %.2f (error %.1e)" % (theta, theta_error)
        text += ", %s elapsed" % format_seconds(seconds)
        if iteration < total:
            text += ", ~%s left" % format_seconds(left)
        if self.terminal:
            self._live(text)
        else:
            self.line(text)

    def converged(self, iteration, early_stop, window):
        self.line(
            "optimise: converged at iteration %d (KL fell by less than %s %% over %d iterations)"
            % (iteration, "%g" % (100 * early_stop), window)
        )

    # --- output -----------------------------------------------------------------------------------

    def _detail(self, name):
        if name == "pca":
            return "%d -> %d dimensions" % (self.d, self.pca_dims)
        if name == "neighbours":
            return "%d per point" % self.k
        if name == "affinities":
            return self.affinities_text
        if name == "init":
            return self.init_name
        if name == "optimise" and self.last is not None:
            return "%d iterations, KL %s" % (self.last[0], format_value(self.last[1]))
        return ""

    def line(self, text):
        self.end_line()
        self.stream.write(text + "\n")
        self.stream.flush()

    def end_line(self):
        if self.live_line:
            self.live_line = False
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _live(self, text):
        self.stream.write("\r\033[K" + text)
        self.stream.flush()
        self.live_line = True

"""Ctrl-C: KeyboardInterrupt within one iteration, and no half-written estimator."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import treesne

SCRIPT = textwrap.dedent(
    """
    import signal, sys, time
    # Python installs its KeyboardInterrupt handler only when SIGINT is not ignored at start, and a job
    # started in the background by a non-interactive shell (as CI may run the suite) inherits an ignored
    # SIGINT: restore what an interactive Python has, which is what this test is about.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import numpy as np
    import treesne
    rng = np.random.RandomState(0)
    x = rng.normal(size=(%(n)d, 20))
    seen = []
    def callback(iteration, kl, embedding):
        seen.append(iteration)
        if iteration == 5:
            print("ready", flush=True)
        return True
    tsne = treesne.TSNE(n_iter=100000, callback=callback, log_every=1, n_jobs=1, %(extra)s)
    print("start", flush=True)
    try:
        tsne.fit(x)
    except KeyboardInterrupt:
        print("interrupted after", seen[-1] if seen else 0, "fitted", hasattr(tsne, "embedding_"), flush=True)
        sys.exit(0)
    print("not interrupted", flush=True)
    sys.exit(1)
    """
)


def run_and_interrupt(n=3000, extra="", wait_for="ready", delay=0.0):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(treesne.__file__))) + (
        ":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    child = subprocess.Popen([sys.executable, "-c", SCRIPT % dict(n=n, extra=extra)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    try:
        while True:  # "start" comes once the imports are done, "ready" at iteration 5
            line = child.stdout.readline()
            assert line, child.stderr.read()
            if line.strip() == wait_for:
                break
        time.sleep(delay)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
        return out, err, child.returncode, time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()


def test_ctrl_c_during_the_optimisation():
    out, err, code, seconds = run_and_interrupt()
    assert code == 0, err
    words = out.split()
    assert words[:2] == ["interrupted", "after"] and words[-1] == "False", out
    # the signal came at iteration 5 or just after; the run stopped within one iteration of it
    assert int(words[2]) <= 10, out
    assert seconds < 10


def test_ctrl_c_before_the_optimisation():
    """During the neighbour search (brute force on many points) the run stops at the next progress
    report of the search instead of finishing it."""
    out, err, code, seconds = run_and_interrupt(n=60000, extra="neighbors='brute', perplexity=50",
                                                wait_for="start", delay=1.0)
    assert code == 0, err
    assert out.startswith("interrupted after 0 fitted False"), (out, err)

"""The original code's child process: ``python -m
provlae_tf.compare.original_server``.

Started by :class:`~provlae_tf.compare.child.OriginalProcess`, never
imported by our side: it imports the original's model module under
``tf.compat.v1`` (:mod:`.original_import`), which replaces this process's
``tensorflow`` module, then answers JSON commands, one per line:

- ``build``: the original's graph of one stage (:mod:`.original_graph`);
- ``init``: its initialisers again (the next draw of the graph's seeds);
- ``restore``, ``save``: TF1 checkpoints, as the original's scripts;
- ``evaluate``: the results of :mod:`.spec`, one ``.npz`` per alpha;
- ``train``: the original's own ``partial_fit`` over given batches, its
  noise fed and recorded;
- ``bench``: images per second of ``partial_fit`` on a fixed batch.

Each answer is one JSON line on the real stdout; everything else the
process prints goes to stderr (the parent's log), with each command's CPU
seconds.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Optional

import numpy as np

from provlae_tf.compare import original_graph, spec
from provlae_tf.compare.original_graph import OriginalRefused, OriginalStage
from provlae_tf.compare.original_import import (OriginalImportError,
                                                import_model_module,
                                                prepare_tensorflow)


def train(stage: OriginalStage, batches: dict, start: int = 0) -> dict:
    """The original's ``partial_fit`` on each batch, iterations
    ``start, start + 1, ...`` (its fade-in counter), with the given noise.

    Returns:
        Per step: ``fade_in``, the losses it fetched (before the step).
    """
    model = stage.model
    record = {name: [] for name in ["fade_in"]
              + spec.loss_names(stage.num_ladders)}

    class FeedingSession:
        """Passes partial_fit's run through, adding the step's noise and
        fetching its total loss too."""

        def __init__(self, eps):
            self.eps = eps

        def run(self, fetches, feed_dict):
            feed = dict(feed_dict)
            feed.update(zip(stage.noise, self.eps))
            out, loss = stage.session.run((fetches, model.loss), feed)
            record["loss"].append(loss)
            record["fade_in"].append(feed_dict[model.fade_in])
            return out

    for i, xs in enumerate(batches["x"]):
        eps = [batches[f"eps{l}"][i] for l in stage.ladders()]
        reconstr, _, _, kl_list = model.partial_fit(
            FeedingSession(eps), xs, start + i)
        record["reconstr_loss"].append(reconstr)
        for l in stage.ladders():
            record[f"kl{l}"].append(kl_list[l - 1])
    return {k: np.asarray(v, np.float32 if k != "fade_in" else np.float64)
            for k, v in record.items()}


def bench(stage: OriginalStage, x, iteration: int, windows: int,
          window_s: float, profile_dir: Optional[str] = None) -> tuple:
    """Images per second of ``partial_fit`` on ``x``: 3 warm-up steps,
    then ``windows`` windows of about ``window_s`` (2 steps at least),
    traced by TensorFlow's profiler into ``profile_dir`` when given.

    Returns:
        ``(rates, steps)``: per window, images per second and steps.
    """
    for _ in range(3):
        stage.model.partial_fit(stage.session, x, iteration)
    if profile_dir:
        from tensorflow.python.profiler import profiler_v2
        profiler_v2.start(profile_dir)
    rates, counts = [], []
    for _ in range(windows):
        start, steps = time.perf_counter(), 0
        while steps < 2 or time.perf_counter() - start < window_s:
            stage.model.partial_fit(stage.session, x, iteration)
            steps += 1
        rates.append(steps * len(x) / (time.perf_counter() - start))
        counts.append(steps)
    if profile_dir:
        profiler_v2.stop()
    return rates, counts


class Server:
    """Executes the commands of :class:`~.child.OriginalProcess`."""

    COMMANDS = ("build", "init", "restore", "save", "evaluate", "train",
                "bench")

    def __init__(self):
        self.modules = {}
        self.stage = None

    def module(self, original_code: str, architecture: str):
        if original_graph.v1 is None:
            original_graph.v1 = prepare_tensorflow()
        key = (original_code, architecture)
        if key not in self.modules:
            self.modules[key] = import_model_module(original_code,
                                                    architecture)
        return self.modules[key]

    def _current(self) -> OriginalStage:
        if self.stage is None:
            raise RuntimeError("no graph: send 'build' first")
        return self.stage

    def build(self, original_code: str, network: dict, recipe: dict,
              stage: int, seed: int = 0, rewrites: bool = True,
              initialise: bool = True) -> dict:
        network, recipe = spec.Network(**network), spec.Recipe(**recipe)
        module = self.module(original_code, network.architecture)
        if self.stage is not None:
            self.stage.close()
            self.stage = None
        start = time.perf_counter()
        self.stage = OriginalStage(module, network, recipe, stage, seed,
                                   rewrites, initialise)
        return {"seconds": time.perf_counter() - start}

    def init(self) -> dict:
        stage = self._current()
        stage.session.run(stage.initialiser)
        return {}

    def restore(self, prefix: str, mode: str = "strict") -> dict:
        self._current().restore(prefix, mode)
        return {}

    def save(self, directory: str, step: int) -> dict:
        return {"prefix": self._current().save(directory, step)}

    def evaluate(self, inputs: str, alphas: list, out_dir: str,
                 stage: int, elements: int = 0,
                 step_alphas: Optional[list] = None,
                 keep_state: bool = True) -> dict:
        """Results per alpha (files in the order of ``alphas``); with
        ``keep_state`` False the state after the last step is left (no copy
        of it is kept: cheaper when a restore follows)."""
        data = spec.Inputs.load(inputs)
        stepped = [a for a in alphas if step_alphas is None
                   or a in step_alphas]
        # The forward passes first, so that only the steps before the last
        # need the state put back.
        order = [a for a in alphas if a not in stepped] + stepped
        files = {}
        for alpha in order:
            result = self._current().evaluate(
                data, float(alpha), elements, alpha in stepped,
                keep_state or alpha != order[-1])
            files[alpha] = spec.save_arrays(
                spec.result_path(out_dir, stage, alpha), result)
        return {"files": [files[a] for a in alphas]}

    def train(self, batches: str, out: str, start: int = 0) -> dict:
        record = train(self._current(), spec.load_arrays(batches), start)
        return {"file": spec.save_arrays(out, record)}

    def bench(self, inputs: str, iteration: int, windows: int,
              window_s: float, profile_dir: Optional[str] = None) -> dict:
        x = spec.Inputs.load(inputs).x
        rates, steps = bench(self._current(), x, iteration, windows,
                             window_s, profile_dir)
        return {"rates": rates, "steps": steps}


def serve(commands, reply) -> None:
    """Answers each JSON command line of ``commands`` with ``reply(dict)``."""
    server = Server()
    for line in commands:
        if not line.strip():
            continue
        command = json.loads(line)
        name = command.pop("cmd")
        if name == "quit":
            break
        try:
            if name not in Server.COMMANDS:
                raise ValueError(f"unknown command {name!r}")
            start = time.process_time()
            answer = {"ok": True, **getattr(server, name)(**command)}
            print(f"[{name}: {time.process_time() - start:.2f} CPU-s]",
                  file=sys.stderr, flush=True)
        except (OriginalImportError, OriginalRefused) as e:
            answer = {"ok": False, "kind": "user", "error": str(e)}
        except Exception as e:  # reported to the parent, details in the log
            traceback.print_exc()
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            answer = {"ok": False, "kind": "internal",
                      "error": f"{name}: {type(e).__name__}: {first}"[:500]}
        reply(answer)


def main() -> None:
    # Answers go to the real stdout; everything else the process prints
    # (the original's prints, TensorFlow's messages) goes to stderr, the log.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    os.environ.setdefault("MPLBACKEND", "Agg")  # the original's utils.py

    def reply(answer: dict) -> None:
        answers.write(json.dumps(answer) + "\n")
        answers.flush()

    serve(sys.stdin, reply)


if __name__ == "__main__":
    main()

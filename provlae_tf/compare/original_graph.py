"""The original's graph of one stage, in this process (the original's
child process only: see :mod:`.original_server`).

:class:`OriginalStage` builds the original's ``VAE_ladder`` graph of one
stage (``train_seq``) from its model module, initialised by its own
initialisers under a graph seed, and evaluates the results of :mod:`.spec`
on it: the noise is fed to the graph's ``tf.random_normal`` outputs, the
codes to its ``z_sample`` tensors, the gradients are those its Adam
updates apply, and the state is put back after a training step unless
told otherwise. Checkpoints are restored with the original's Saver or its
own ``optimistic_restore``, and saved as its ``Saver(max_to_keep=1)`` does.
"""

from __future__ import annotations

import contextlib
import os
import sys

from provlae_tf.compare import spec

v1 = None  # tf.compat.v1, set by the server once TensorFlow is prepared


class OriginalRefused(Exception):
    """The original's graph refuses an input (e.g. a checkpoint that does
    not fit it); a one-line reason for the user."""


class _Flags:
    """The attributes that the original's ``VAE_ladder`` reads from its
    ``flags`` argument."""

    def __init__(self, recipe: spec.Recipe):
        self.KL = recipe.pre_kl
        self.fadein = recipe.fade_in
        self.coff = recipe.coff


def _noise_tensor(z_sample):
    """The standard-normal draw inside ``z = mean + sqrt(exp(lv)) * eps``,
    the original's ``_sample_z``: feeding it fixes the noise."""
    add = z_sample.op
    product = add.inputs[1].op if add.type in ("Add", "AddV2") else None
    if product is None or product.type != "Mul":
        raise OriginalRefused(f"{z_sample.name}: not the original's "
                              "reparameterised sample (mean + sigma * eps)")
    return product.inputs[1]


def _original_utils():
    """The original's utils.py (its ``optimistic_restore``)."""
    try:
        return __import__("utils")
    except ImportError as e:
        raise OriginalRefused(
            f"--restore=optimistic runs the original's optimistic_restore, "
            f"but its utils.py does not import here ({e})") from None


class OriginalStage:
    """The original's graph of one stage, in its own graph and session.

    Args:
        module: the original's model module.
        network, recipe: the network's shape and the training settings.
        stage: the original's ``train_seq``.
        seed: the graph seed of its initialisers.
        rewrites: let Grappler rewrite the graph (TensorFlow's default).
        initialise: run the initialisers (not needed before a restore).
    """

    def __init__(self, module, network: spec.Network, recipe: spec.Recipe,
                 stage: int, seed: int, rewrites: bool = True,
                 initialise: bool = True):
        self.graph = v1.Graph()
        with self.graph.as_default():
            v1.set_random_seed(seed)
            # Its constructor prints layer shapes: they go to the log.
            with contextlib.redirect_stdout(sys.stderr):
                self.model = module.VAE_ladder(
                    z_dim=network.z_dim, beta=recipe.beta,
                    learning_rate=recipe.learning_rate,
                    fade_in_duration=recipe.fade_in_duration,
                    flags=_Flags(recipe), chn_num=network.channels,
                    train_seq=stage)
            self.variables = v1.global_variables()
            self.initialiser = v1.global_variables_initializer()
            self._nothing = v1.no_op()
            self.num_ladders = self.model.layer_num
            self.noise = [_noise_tensor(self.ladder("z_sample", l))
                          for l in self.ladders()]
            # The gradient each Adam update of its train_op applies.
            self.gradients = {
                op.inputs[0].op.name: op.inputs[9]
                for op in self.graph.get_operations()
                if op.type == "ApplyAdam"}
        config = v1.ConfigProto()
        # Grappler's rewrites (on by default, as the original ran) cost a
        # second or two per new fetch on these graphs; results differ by
        # float rounding only.
        config.graph_options.rewrite_options.disable_meta_optimizer = \
            not rewrites
        self.session = v1.Session(graph=self.graph, config=config)
        if initialise:
            self.session.run(self.initialiser)
        self._backup = None
        self._state = {}
        self._savers = {}
        self._restorer = None

    def ladders(self) -> range:
        """Ladders 1..L."""
        return range(1, self.num_ladders + 1)

    def ladder(self, attribute: str, ladder: int):
        """The model's ``<attribute><ladder>`` tensor, e.g. ``z_mean2``."""
        return getattr(self.model, f"{attribute}{ladder}")

    def close(self) -> None:
        self.session.close()

    # ---------------------------------------------------------- checkpoints
    # Reference: docs/original.md#optimistic-restore
    def restore(self, prefix: str, mode: str) -> None:
        """Restores ``prefix`` as the original's ``load_checkpoints`` does:
        its Saver, or (``optimistic``) its fallback of loading what matches
        by name and shape."""
        try:
            if mode == "optimistic":
                utils = _original_utils()
                with self.graph.as_default():
                    utils.optimistic_restore(self.session, prefix)
            else:
                if self._restorer is None:
                    with self.graph.as_default():
                        self._restorer = v1.train.Saver(self.variables)
                self._restorer.restore(self.session, prefix)
        except (v1.errors.OpError, ValueError) as e:
            first = str(e).strip().splitlines()[0][:300]
            raise OriginalRefused(
                f"{prefix}: the original's graph cannot restore it ({first})."
                " Use --restore=optimistic to load what matches, as the "
                "original's fallback does.") from None

    def save(self, directory: str, step: int) -> str:
        """Saves as the original's ``Saver(max_to_keep=1)`` into its run
        directory: one Saver per directory, each keeping its latest."""
        directory = os.path.abspath(directory)
        if directory not in self._savers:
            with self.graph.as_default():
                self._savers[directory] = v1.train.Saver(
                    self.variables, max_to_keep=1, save_relative_paths=True)
        os.makedirs(directory, exist_ok=True)
        return self._savers[directory].save(
            self.session, os.path.join(directory, "checkpoint"),
            global_step=step, write_meta_graph=False)

    # ----------------------------------------------------------- evaluation
    def _feed(self, x, alpha: float, eps) -> dict:
        feed = {self.model.x: x, self.model.fade_in: alpha}
        feed.update(zip(self.noise, eps))
        return feed

    def losses(self, prefix: str = "") -> dict:
        """The loss tensors by their :mod:`.spec` names."""
        names = spec.loss_names(self.num_ladders, prefix)
        tensors = ([self.model.reconstr_loss]
                   + [self.ladder("latent_loss", l) for l in self.ladders()]
                   + [self.model.loss])
        return dict(zip(names, tensors))

    def _fetches(self, elements: int) -> tuple[dict, dict]:
        """(gradients of the step, every variable after it): whole, or
        gathered in the graph at the sampled positions (fetching the
        CelebA network's 38M floats thrice is slow)."""
        if elements not in self._state:
            def sample(name, tensor):
                where = spec.positions(name, tensor.shape.num_elements(),
                                       elements)
                return tensor if where is None else \
                    v1.gather(v1.reshape(tensor, [-1]), where)

            with self.graph.as_default():
                self._state[elements] = (
                    {spec.GRAD + name: sample(name, grad)
                     for name, grad in self.gradients.items()},
                    {spec.STATE + var.op.name: sample(var.op.name, var)
                     for var in self.variables})
        return self._state[elements]

    def _backup_ops(self):
        """(save, put back) ops of an in-graph copy of every variable."""
        if self._backup is None:
            with self.graph.as_default(), v1.name_scope("compare_backup"):
                copies = [v1.Variable(v1.zeros(v.shape, v.dtype.base_dtype),
                                      trainable=False, collections=[])
                          for v in self.variables]
                self._backup = (
                    v1.group(*[c.assign(v) for c, v in
                               zip(copies, self.variables)]),
                    v1.group(*[v.assign(c) for c, v in
                               zip(copies, self.variables)]))
        return self._backup

    def evaluate(self, inputs: spec.Inputs, alpha: float, elements: int,
                 step: bool = True, keep_state: bool = True) -> dict:
        """The results of :mod:`.spec` at ``alpha`` (without the training
        step's unless ``step``); the state is put back after the step
        unless ``keep_state`` is False (then it is the state after it)."""
        run, model = self.session.run, self.model
        feed = self._feed(inputs.x, alpha, inputs.eps)
        codes = {}
        for l in self.ladders():
            codes[f"z_mean{l}"] = self.ladder("z_mean", l)
            codes[f"z_logvar{l}"] = self.ladder("z_log_sigma_sq", l)
        gradients, state = self._fetches(elements)
        # (Fewer distinct fetches: each costs a pruned executor at first.)
        keep = step and keep_state
        save, put_back = self._backup_ops() if keep else (self._nothing,
                                                          None)
        result = run(({**codes, **self.losses()}, save), feed)[0]
        # The decoder on the means: fed to its z_sample tensors.
        decode = {model.x: inputs.x, model.fade_in: alpha}
        decode.update({self.ladder("z_sample", l): result[f"z_mean{l}"]
                       for l in self.ladders()})
        result["logits"] = run(model.x_out_logit, decode)
        if not step:
            return result
        try:
            result.update(run((model.train_op, gradients), feed)[1])
            after = run((self.losses("post_"), state), feed)
            result.update(after[0])
            result.update(after[1])
        finally:
            if keep:
                run(put_back)
        return result

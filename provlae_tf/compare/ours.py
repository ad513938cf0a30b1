"""Our side of a comparison: provlae_tf's model, loss and TF1 Adam.

Computes the results of :mod:`.spec` the way our trainer does
(:class:`~provlae_tf.model.ladder.ProVLAE`, ``compute_losses`` with
``schedule.loss_weights``, :class:`~provlae_tf.train.optimizer.TF1Adam`),
eagerly, on a state loaded from an original checkpoint (our importer) or
from one of our run directories.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from provlae_tf.compare import spec
from provlae_tf.config import ModelConfig
from provlae_tf.convert import tf1
from provlae_tf.model.ladder import ProVLAE
from provlae_tf.model.naming import (frozen_statistics_table,
                                     original_variable_table)
from provlae_tf.train import checkpoints, schedule
from provlae_tf.train.loss import Losses, compute_losses
from provlae_tf.train.optimizer import TF1Adam


class OurSide:
    """Our model and optimizer, answering what the original's graph answers.

    Args:
        model_config: our model's configuration.
        recipe: the training settings (the same as the original's).
        exact_zero_branches: compute the inactive ladders' zero-multiplied
            branches as the original does; by default they are skipped, as
            our trainer does.
    """

    def __init__(self, model_config: ModelConfig, recipe: spec.Recipe,
                 exact_zero_branches: bool = False):
        self.recipe = recipe
        self.model = ProVLAE(model_config, stage=1,
                             exact_zero_branches=exact_zero_branches)
        self.variables = list(original_variable_table(self.model).values())
        self.optimizer = TF1Adam(self.variables, recipe.learning_rate)
        self.targets = tf1.original_tensors(self.model, self.optimizer)
        self._frozen = frozen_statistics_table(self.model)
        self._copies = None

    @property
    def num_ladders(self) -> int:
        return self.model.num_ladders

    # ---------------------------------------------------------------- state
    def import_original(self, prefix: str,
                        restore: str = "strict") -> tf1.ImportReport:
        """Loads an original TF1 checkpoint with our importer."""
        return tf1.import_original(prefix, self.model, self.optimizer, restore)

    def restore_run(self, prefix: str) -> int:
        """Loads a checkpoint of one of our runs; returns its stage."""
        state = checkpoints.TrainingState()
        checkpoints.restore_checkpoint(checkpoints.training_checkpoint(
            self.model, self.optimizer, state), prefix)
        return int(state.stage)

    def load(self, checkpoint, restore: str = "strict") -> None:
        """Loads what is compared: one of our runs from its own checkpoint,
        an original directory through our importer (``checkpoint``: a
        :class:`~provlae_tf.compare.runner.Checkpoint`)."""
        if checkpoint.run_prefix is not None:
            self.restore_run(checkpoint.run_prefix)
        else:
            self.import_original(checkpoint.prefix, restore)

    def state(self, elements: int = 0) -> dict:
        """Every original checkpoint name's value now (moving statistics:
        our constants), whole or at :func:`spec.positions`."""
        values = {}
        for name, target in self.targets.items():
            if isinstance(target, tf.Variable):
                where = spec.positions(name, target.shape.num_elements(),
                                       elements)
                value = (target.numpy() if where is None else
                         tf.gather(tf.reshape(target, [-1]), where).numpy())
            else:
                value = spec.sampled(name, np.full(self._frozen[name][0],
                                                   target, np.float32),
                                     elements)
            values[spec.STATE + name] = value
        return values

    def _state_variables(self) -> list:
        return [t for t in self.targets.values() if isinstance(t, tf.Variable)]

    def save_state(self) -> None:
        """Keeps a copy of every variable and slot (see :meth:`put_back`)."""
        if self._copies is None:
            self._copies = [tf.Variable(v, trainable=False)
                            for v in self._state_variables()]
        else:
            for copy, var in zip(self._copies, self._state_variables()):
                copy.assign(var)

    def put_back(self) -> None:
        """Returns to the state of the last :meth:`save_state`."""
        for copy, var in zip(self._copies, self._state_variables()):
            var.assign(copy)

    # ---------------------------------------------------------- computation
    # Reference: docs/original.md#fade-in
    def alpha(self, alpha: float) -> float:
        """The alpha our trainer gives the model (1 without fade-in; the
        original then has no fade multiplications at all)."""
        return float(alpha) if self.recipe.fade_in else 1.0

    def weights(self, stage: int) -> list[float]:
        return schedule.loss_weights(stage, self.num_ladders,
                                     self.recipe.beta, self.recipe.coff,
                                     self.recipe.pre_kl)

    def losses(self, x, eps, alpha: float, stage: int) -> Losses:
        output = self.model(x, alpha=self.alpha(alpha), stage=stage, eps=eps)
        return compute_losses(x, output, self.weights(stage))

    def step(self, x, eps, alpha: float, stage: int) -> tuple[Losses, list]:
        """One training step, as our trainer's.

        Returns:
            The losses before it, and the gradients (None where our model
            skips an inactive ladder's branch: a zero gradient to TF1Adam).
        """
        with tf.GradientTape() as tape:
            losses = self.losses(x, eps, alpha, stage)
        gradients = tape.gradient(losses.total, self.variables)
        self.optimizer.apply_gradients(gradients)
        return losses, gradients

    def _gradients(self, gradients: list, elements: int) -> dict:
        values = {}
        for (name, var), grad in zip(original_variable_table(
                self.model).items(), gradients):
            grad = tf.zeros_like(var) if grad is None else grad
            where = spec.positions(name, var.shape.num_elements(), elements)
            if where is not None:
                grad = tf.gather(tf.reshape(grad, [-1]), where)
            values[spec.GRAD + name] = grad.numpy()
        return values

    def evaluate(self, inputs: spec.Inputs, stage: int, alpha: float,
                 elements: int = 0, step: bool = True) -> dict:
        """The results of :mod:`.spec` at (stage, alpha) (without the
        training step's unless ``step``); the state is unchanged."""
        x = tf.constant(inputs.x)
        eps = [tf.constant(e) for e in inputs.eps]
        codes = self.model.encode(x, alpha=self.alpha(alpha), stage=stage)
        result = {}
        for l, (mean, log_var) in enumerate(codes, start=1):
            result[f"z_mean{l}"], result[f"z_logvar{l}"] = mean, log_var
        result["logits"] = self.model.decode(
            [mean for mean, _ in codes], alpha=self.alpha(alpha), stage=stage)
        if not step:
            result.update(self._named(self.losses(x, eps, alpha, stage)))
            return {k: np.asarray(v) for k, v in result.items()}
        self.save_state()
        try:
            losses, gradients = self.step(x, eps, alpha, stage)
            result.update(self._named(losses))
            result.update(self._gradients(gradients, elements))
            result.update(self._named(self.losses(x, eps, alpha, stage),
                                      "post_"))
            result.update(self.state(elements))
        finally:
            self.put_back()
        return {k: np.asarray(v) for k, v in result.items()}

    def train(self, batches: dict, alphas, stage: int) -> dict:
        """Training steps on recorded batches (``x``, ``eps{l}``, one alpha
        per step); returns the losses before each step, as the original's
        ``partial_fit`` fetches them."""
        record = {name: [] for name in spec.loss_names(self.num_ladders)}
        for i, alpha in enumerate(alphas):
            x = tf.constant(batches["x"][i])
            eps = [tf.constant(batches[f"eps{l}"][i])
                   for l in range(1, self.num_ladders + 1)]
            for name, value in self._named(
                    self.step(x, eps, alpha, stage)[0]).items():
                record[name].append(value)
        return {k: np.asarray(v, np.float32) for k, v in record.items()}

    def _named(self, losses: Losses, prefix: str = "") -> dict:
        values = ([losses.reconstruction]
                  + list(tf.unstack(losses.kl)) + [losses.total])
        return {name: np.asarray(value) for name, value in
                zip(spec.loss_names(self.num_ladders, prefix), values)}


"""Checks provlae_tf against the original pro-VLAE code, run live.

``python -m provlae_tf.compare`` builds the original TF1 graph (imported
from a checkout of the original repository, in a child process under
``tf.compat.v1``) and our model on the same checkpoint, feeds both the same
images and noise, and prints how far apart their outputs, losses and
training step are. ``--write_fixture`` records what the original computes
for parity tests.

Modules: :mod:`.spec` (settings and result names, shared by both sides),
:mod:`.child` (starts the original's process and talks to it),
:mod:`.original_import`, :mod:`.original_graph` and :mod:`.original_server`
(the child's side; only ever imported in that child), :mod:`.ours` (our
side), :mod:`.table` (the comparison), :mod:`.runner` (one comparison),
:mod:`.fixture` (fixtures).
"""

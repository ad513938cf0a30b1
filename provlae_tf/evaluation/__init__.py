"""Evaluating a model on a dataset: encoding, the scorecard of --mode=3 and
the information flow recorded at stage ends.

The layer between the models and the metric cores: :mod:`provlae_tf.metrics`
holds pure NumPy functions of codes; this package encodes images with a
model (the one TensorFlow step), looks the ground truth up in the encoded
codes, and calls the cores.
"""

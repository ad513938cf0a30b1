"""The run configuration (:mod:`.sections`) and how a command line becomes
one (:mod:`.building`).

Every configuration value is declared once, as a field of a section with its
default, help, constraint and flag name (:mod:`provlae_tf.options`); the
flags, their checks and docs/flags.md are generated from the declarations.
"""

from provlae_tf.config.building import (all_options, build_config,
                                        choose_dataset, dataset_notice,
                                        flag_options, flag_request,
                                        from_flags, with_flags)
from provlae_tf.config.sections import (ARCHITECTURES, BN_EPSILON,
                                        MAX_Z_DIM, MODE_NAMES, MODELS,
                                        NUM_LADDERS,
                                        SECTIONS, DataConfig, EvalConfig,
                                        ModelConfig, RunConfig, TrainConfig,
                                        check_train_seq, load_run_config,
                                        parse_clip)

__all__ = [
    "ARCHITECTURES", "BN_EPSILON", "MAX_Z_DIM", "MODE_NAMES", "MODELS",
    "NUM_LADDERS", "SECTIONS", "DataConfig",
    "EvalConfig", "ModelConfig", "RunConfig", "TrainConfig", "all_options",
    "build_config", "check_train_seq", "choose_dataset", "dataset_notice",
    "flag_options", "flag_request", "from_flags", "load_run_config",
    "parse_clip", "with_flags"]

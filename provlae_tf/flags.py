"""Command-line flags, generated from the configuration's declarations.

Every flag is a field of :mod:`provlae_tf.config` declared with its default,
help and constraint (:func:`provlae_tf.options.option`); this module only
turns those declarations into absl flags. The original's flag names stay
(``epoch_size``, ``KL``, ``fadein``, ...), so its scripts' command lines
work unchanged. :func:`define_flags` registers them on a given
``FlagValues``, so tests can parse flagfiles into a fresh instance and other
command lines (the converter) can share some of them.

``python -m provlae_tf.flags`` prints the flag tables of docs/flags.md.
"""

from __future__ import annotations

import sys
from typing import Callable, Collection, Optional

from absl import flags

from provlae_tf.config import flag_options
from provlae_tf.datasets import DATASETS
from provlae_tf.options import Option


def one_line_parser(flag_values: flags.FlagValues,
                    prefix: str) -> Callable[[list], list]:
    """An ``app.run(..., flags_parser=)`` that reports a bad flag as one
    line ``<prefix>: <what absl says>`` and exits with status 1, like every
    other bad input, instead of absl's usage dump."""
    def parse(argv: list) -> list:
        try:
            return flag_values(argv)
        except flags.Error as e:
            print(f"{prefix}: {e}. See --helpfull for the flags.",
                  file=sys.stderr)
            sys.exit(1)
    return parse


def define_flags(flag_values: flags.FlagValues = flags.FLAGS,
                 names: Optional[Collection[str]] = None) -> None:
    """Registers the provlae_tf flags on ``flag_values``.

    Args:
        flag_values: where to register them.
        names: only these flags (default: every flag).
    """
    for name, opt in flag_options().items():
        if names is None or name in names:
            _define(opt, flag_values)


def default_values() -> dict:
    """``{flag name: default value}`` of every provlae_tf flag, as absl
    parses them (for command lines that define only some of the flags)."""
    every = flags.FlagValues()
    define_flags(every)
    every(["provlae_tf"])
    return {name: every[name].value for name in every}


def _define(opt: Option, fv: flags.FlagValues) -> None:
    default, text = opt.default_flag_value, opt.help
    if opt.enum_values:
        flags.DEFINE_enum(opt.flag, default, list(map(str, opt.enum_values)),
                          text, flag_values=fv)
        return
    define = {"bool": flags.DEFINE_boolean, "int": flags.DEFINE_integer,
              "float": flags.DEFINE_float, "str": flags.DEFINE_string,
              "tuple": flags.DEFINE_list}[opt.kind]
    define(opt.flag, default, text, flag_values=fv)


# ------------------------------------------------------- docs/flags.md
_TITLES = {"": "Run", "data": "Data", "model": "Model", "train": "Training",
           "eval": "Evaluation (--mode=2, --mode=3, stage ends)"}


def _shown_default(opt: Option) -> str:
    value = opt.default_flag_value
    if opt.recipe:
        recipes = ", ".join(f"{spec.name} {_text(spec.recipe[opt.flag])}"
                            for spec in DATASETS.values())
        return f"the dataset's recipe ({recipes})"
    if value is None:
        return "derived"
    return f"`{_text(value)}`" if _text(value) != "" else '`""`'


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def markdown() -> str:
    """The flag tables of docs/flags.md, one per config section."""
    lines = ["# Flags", "",
             "Generated from the configuration's declarations by "
             "`python -m provlae_tf.flags > docs/flags.md` (a test keeps it "
             "current). *original*: the flag of the original code, same "
             "name and meaning. Every flag sets one field of the run's "
             "`config.json` (the column *field*).", ""]
    by_section: dict[str, list[Option]] = {}
    for opt in flag_options().values():
        by_section.setdefault(opt.section, []).append(opt)
    for section, title in _TITLES.items():
        lines += [f"## {title}", "",
                  "| flag | default | field | meaning |", "|---|---|---|---|"]
        for opt in by_section.get(section, []):
            name = f"`--{opt.flag}`" + (" *original*" if opt.original else "")
            choices = (" One of: " + ", ".join(
                f"`{c}`" for c in opt.enum_values) + "."
                if opt.enum_values else "")
            lines.append(f"| {name} | {_shown_default(opt)} | `{opt.path}` "
                         f"| {opt.help.replace('|', '/')}{choices} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")

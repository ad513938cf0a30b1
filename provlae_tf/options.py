"""Declaring a configuration value once: its default, help, constraint and flag.

A field of a config dataclass is declared with :func:`option`; everything
else is derived from that one declaration: the absl flag (name, type,
default, help; :mod:`provlae_tf.flags`), the check that refuses a bad value
(:func:`check_fields`, run by the dataclasses themselves, so a config built
in Python is refused with the same message as the flag) and the flag table
of the documentation (``python -m provlae_tf.flags``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Optional

from provlae_tf.errors import UserError

_NO_FLAG_DEFAULT = object()


@dataclasses.dataclass(frozen=True)
class Check:
    """A constraint on one value: ``ok(value)``, else "expected ..."."""

    ok: Callable[[Any], bool]
    expected: str


def positive(kind: str = "integer") -> Check:
    return Check(lambda v: v > 0, f"a positive {kind}")


def at_least(low, expected: str) -> Check:
    return Check(lambda v: v >= low, expected)


def between(low, high, expected: str, high_open: bool = False) -> Check:
    if high_open:
        return Check(lambda v: low <= v < high, expected)
    return Check(lambda v: low <= v <= high, expected)


@dataclasses.dataclass(frozen=True)
class Option:
    """One declared value, as :func:`option` recorded it.

    Attributes:
        section: the config section (``"train"``...) or ``""`` for the run.
        field: the dataclass field's name.
        flag: the command-line flag's name (None: derived, no flag).
        help: one or two sentences for ``--help`` and docs/flags.md.
        default: the field's default.
        kind: ``bool``, ``int``, ``float``, ``str`` or ``tuple``.
        choices: the allowed values of an enum flag (as typed).
        checks: the constraints of the field's value, checked in order.
        recipe: the flag defaults to the ``--dataset``'s recipe.
        original: the flag is the original code's (same name).
        flag_default: the flag's default when it differs from the field's
            (e.g. ``auto``, or None for "derived from other flags").
        flag_choices: the flag's choices when they differ from the
            field's (e.g. ``auto`` besides the architectures).
        parse: turns the flag's value into the field's.
    """

    section: str
    field: str
    flag: Optional[str]
    help: str
    default: Any
    kind: str
    choices: tuple = ()
    checks: tuple = ()
    recipe: bool = False
    original: bool = False
    flag_default: Any = _NO_FLAG_DEFAULT
    flag_choices: tuple = ()
    parse: Optional[Callable[[Any], Any]] = None

    @property
    def path(self) -> str:
        """``section.field`` (or ``field`` for the run's own fields)."""
        return f"{self.section}.{self.field}" if self.section else self.field

    @property
    def default_flag_value(self):
        """The flag's default, as absl holds it."""
        if self.flag_default is not _NO_FLAG_DEFAULT:
            return self.flag_default
        if self.kind == "tuple":
            return [_format(v) for v in self.default]
        return self.default

    @property
    def enum_values(self) -> tuple:
        """The values an enum flag accepts (empty: not an enum)."""
        return self.flag_choices or self.choices

    def to_field(self, value):
        """The field's value of a parsed flag value."""
        return self.parse(value) if self.parse else value


def option(default, help: str, *, flag: Optional[str] = "", choices=(),
           check=None, recipe: bool = False,
           original: bool = False, flag_default=_NO_FLAG_DEFAULT,
           flag_choices=(), parse: Optional[Callable[[Any], Any]] = None):
    """Declares a config field (see :class:`Option` for the arguments).

    ``flag=""`` names the flag as the field; ``flag=None`` declares a value
    that no flag sets (it is derived). ``check`` is a :class:`Check` or a
    tuple of them (the first that fails names what was expected).
    ``choices`` without ``check`` also constrains the field's value to them.
    """
    if choices and check is None:
        check = Check(lambda v: v in choices, "one of " + ", ".join(
            map(str, choices)))
    checks = (() if check is None else
              tuple(check) if isinstance(check, (tuple, list)) else (check,))
    return dataclasses.field(default=default, metadata={"option": dict(
        flag=flag, help=help, choices=tuple(choices), checks=checks,
        recipe=recipe, original=original, flag_default=flag_default,
        flag_choices=tuple(flag_choices), parse=parse)})


def options_of(section_type, section: str = "") -> list[Option]:
    """The declared options of a config dataclass, in field order."""
    found = []
    for f in dataclasses.fields(section_type):
        meta = f.metadata.get("option")
        if meta is None:
            continue
        flag = f.name if meta["flag"] == "" else meta["flag"]
        found.append(Option(
            section, f.name, flag, meta["help"], f.default,
            _kind(f.default), meta["choices"], meta["checks"], meta["recipe"],
            meta["original"], meta["flag_default"], meta["flag_choices"],
            meta["parse"]))
    return found


def check_fields(instance, section: str = "") -> None:
    """Refuses a field value its declaration does not allow.

    Raises:
        UserError: ``--<flag>=<value>: expected ...`` (the field's path when
            no flag sets it).
    """
    for opt in options_of(type(instance), section):
        check_value(opt, getattr(instance, opt.field))


def check_value(opt: Option, value) -> None:
    """Refuses ``value`` for ``opt`` (see :func:`check_fields`)."""
    name = f"--{opt.flag}" if opt.flag else opt.path
    if isinstance(value, float) and not math.isfinite(value):
        raise UserError(f"{name}={value}: expected a finite number.")
    for check in opt.checks:
        if not check.ok(value):
            shown = _format(value) if isinstance(value, tuple) else value
            raise UserError(f"{name}={shown}: expected {check.expected}.")


def _kind(default) -> str:
    for kind in (bool, int, float, str, tuple):
        if isinstance(default, kind):
            return kind.__name__
    raise TypeError(f"unsupported option default {default!r}")


def _format(value) -> str:
    if isinstance(value, tuple):
        return ",".join(_format(v) for v in value)
    if isinstance(value, float) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return str(value)

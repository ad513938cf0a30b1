"""Running ``python -m provlae_tf.main`` (and the converter) in the test
process: the same ``app.run`` with the same flags, exit code, stdout and
stderr, without a TensorFlow import and autograph conversion per command.

The tests that need a process of their own (a signal, another user's
permissions, TensorFlow's native start-up lines) use :func:`run_process`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import logging as python_logging
import os
import signal
import subprocess
import sys
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Result:
    """What ``subprocess.run(..., capture_output=True, text=True)`` gives."""
    returncode: int
    stdout: str
    stderr: str


def process_env(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2",
            **extra}


def run_process(module: str, *args, cwd=None, **popen):
    """``python -m module args`` in a process of its own."""
    return subprocess.run([sys.executable, "-m", module, *args],
                          capture_output=True, text=True, env=process_env(),
                          cwd=cwd or REPO, timeout=600, **popen)


def run_main(*args) -> Result:
    """``python -m provlae_tf.main args``, in this process."""
    from provlae_tf import main
    return _run_in_process("provlae_tf.main", main.main, main._parse_flags,
                           args)


def run_convert(*args) -> Result:
    """``python -m provlae_tf.convert args``, in this process.

    The converter and provlae_tf.main register flags of the same names on
    absl's global ``FLAGS``, which one process cannot hold twice: the
    converter's flags are kept aside (see :func:`_converter`) and stand in
    for provlae_tf.main's while it runs.
    """
    from absl import app, flags
    module, converter_flags = _converter()
    main_flags = _registry(flags.FLAGS)
    _set_registry(flags.FLAGS, converter_flags)
    try:
        return _run_in_process("provlae_tf.convert", module.main,
                               app.parse_flags_with_usage, args)
    finally:
        _set_registry(flags.FLAGS, main_flags)


CONVERTER = "provlae_tf.convert.__main__"


def _converter():
    """provlae_tf.convert's ``__main__`` module and the registry of flags it
    runs with: absl's and the converter's, none of provlae_tf.main's (kept
    on the module: this file may be imported under two names)."""
    from absl import app, flags
    module = sys.modules.get(CONVERTER)
    if module is None:
        from provlae_tf import flags as provlae_flags
        from provlae_tf import main  # noqa: F401 (its flags come first)
        app.define_help_flags()  # as app.run's first call would
        main_flags = _registry(flags.FLAGS)
        every = flags.FlagValues()
        provlae_flags.define_flags(every)
        try:
            for name in every:
                if name in flags.FLAGS:
                    delattr(flags.FLAGS, name)
            module = importlib.import_module(CONVERTER)
            module.test_flag_registry = _registry(flags.FLAGS)
        finally:
            _set_registry(flags.FLAGS, main_flags)
    return module, module.test_flag_registry


def _registry(flag_values) -> dict:
    """A copy of what ``flag_values`` holds (its instance state)."""
    return _copy(vars(flag_values))


def _set_registry(flag_values, state: dict) -> None:
    held = vars(flag_values)
    held.clear()
    held.update(_copy(state))


def _copy(state: dict) -> dict:
    """``state`` with its containers copied (the Flag objects shared)."""
    return {key: ({k: list(v) if isinstance(v, list) else v
                   for k, v in value.items()} if isinstance(value, dict)
                  else set(value) if isinstance(value, set) else value)
            for key, value in state.items()}


def _exit_code(code) -> int:
    """The exit status ``sys.exit(code)`` gives a process."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _run_in_process(name, main, flags_parser, args) -> Result:
    """``app.run(main)`` as a fresh process runs it: flags parsed from
    scratch (and reset afterwards), stdout and stderr (absl's log lines
    too) captured, an uncaught exception printed as its traceback with exit
    status 1; the signal handlers, logging levels and working directory of
    this process are restored afterwards."""
    from absl import app, flags
    from absl import logging as absl_logging
    flag_values = flags.FLAGS
    out, err = io.StringIO(), io.StringIO()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT,
                                                 signal.SIGTERM)}
    verbosity = absl_logging.get_verbosity()
    absl_level = absl_logging.get_absl_logger().level
    root = python_logging.getLogger()
    root_level, root_handlers = root.level, list(root.handlers)
    absl_handler = absl_logging.get_absl_handler()
    cwd = os.getcwd()
    code = 0
    flag_values.unparse_flags()
    try:
        os.chdir(REPO)
        absl_logging.use_absl_handler()
        stream = absl_handler.python_handler.setStream(err)
        try:
            with contextlib.redirect_stdout(out), \
                    contextlib.redirect_stderr(err):
                try:
                    app.run(main, argv=[name, *map(str, args)],
                            flags_parser=flags_parser)
                except SystemExit as e:
                    code = _exit_code(e.code)
                except Exception:  # as the interpreter reports it
                    traceback.print_exc()
                    code = 1
        finally:
            absl_handler.python_handler.setStream(stream)
    finally:
        flag_values.unparse_flags()
        os.chdir(cwd)
        for s, handler in handlers.items():
            signal.signal(s, handler)
        absl_logging.set_verbosity(verbosity)
        absl_logging.get_absl_logger().setLevel(absl_level)
        for handler in root.handlers[:]:
            if handler not in root_handlers:
                root.removeHandler(handler)
        root.setLevel(root_level)
    return Result(code, out.getvalue(), err.getvalue())


def flag_request(**given) -> tuple[dict, set]:
    """``(values, explicit)`` of a command line that sets ``given``: every
    provlae_tf flag at its default but those (as main builds its config)."""
    from provlae_tf.flags import default_values
    return {**default_values(), **given}, set(given)

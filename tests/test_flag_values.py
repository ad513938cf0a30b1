"""Bad flag values: negative, zero, huge, non-finite, of the wrong type, not
among the choices. Each is refused by absl's parser (``flags.Error``) or by
``config.from_flags`` (``UserError``) with a message naming the flag, and on
the command line with one line on stderr, a non-zero exit, no traceback and
nothing written under --checkpoint_dir (issue 10, item 6).

``REFUSED_BEFORE_ANYTHING_LOADS`` lists values that once got past the flags
(and failed later, some after writing into the run directory), with what
happened then.
"""

import string

import pytest
from absl import flags
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provlae_tf import config as config_lib
from provlae_tf.errors import UserError
from provlae_tf.flags import define_flags
from test_main import SMOKE, run_main

FEW = settings(max_examples=20, deadline=None,
               suppress_health_check=[HealthCheck.too_slow])


def fresh_flags() -> flags.FlagValues:
    fv = flags.FlagValues()
    define_flags(fv)
    return fv


FLAGS = fresh_flags()


def names(parser: str) -> list[str]:
    """The flags parsed by the absl parser class ``parser``."""
    return sorted(n for n in FLAGS if type(FLAGS[n].parser).__name__ == parser)


INTEGER_FLAGS = names("IntegerParser")
FLOAT_FLAGS = names("FloatParser")
ENUM_FLAGS = names("EnumParser")
BOOLEAN_FLAGS = names("BooleanParser")
# Counts, sizes and rates for which 0 means nothing sensible.
POSITIVE = [n for n in (
    "z_dim", "batch_size", "epoch_size", "log_every", "max_to_keep",
    "mig_samples", "factor_train_votes", "factor_eval_votes", "factor_batch",
    "factor_variance_samples", "histogram_samples", "histogram_bins",
    "info_samples", "learning_rate", "adam_epsilon", "bn_epsilon",
    "gpu_usage") if n in FLAGS]


def refusal(*args: str) -> str:
    """The message that refuses ``args``; fails the test if they are
    accepted (or raise anything but flags.Error / UserError)."""
    fv = fresh_flags()
    try:
        fv(["prog", *args])
        config_lib.from_flags(fv)
    except (flags.Error, UserError) as e:
        return str(e)
    pytest.fail(f"accepted: {' '.join(args)}")


def assert_refused(flag: str, value) -> str:
    message = refusal(f"--{flag}={value}")
    assert f"--{flag}" in message, message
    assert "\n" not in message.strip(), message
    return message


# ------------------------------------------------------ properties
@FEW
@given(flag=st.sampled_from(INTEGER_FLAGS),
       value=st.integers(max_value=-1) | st.sampled_from([-1, -2**63,
                                                           -10**30]))
def test_negative_integers_are_refused(flag, value):
    """No integer flag takes a negative value (counts, sizes, indices,
    durations, the seed)."""
    assert_refused(flag, value)


@FEW
@given(flag=st.sampled_from(POSITIVE), value=st.sampled_from([0, 0.0]))
def test_zero_is_refused_where_a_positive_value_is_needed(flag, value):
    assert_refused(flag, value if flag in FLOAT_FLAGS else int(value))


@FEW
@given(flag=st.sampled_from(FLOAT_FLAGS),
       value=st.sampled_from(["nan", "inf", "-inf", "1e400", "-1e400"]))
def test_non_finite_floats_are_refused(flag, value):
    assert_refused(flag, value)


@FEW
@given(flag=st.sampled_from([n for n in POSITIVE if n in FLOAT_FLAGS]),
       value=st.floats(max_value=0, allow_nan=False, allow_infinity=False))
def test_non_positive_rates_are_refused(flag, value):
    assert_refused(flag, value)


def _is_number(text: str) -> bool:
    for parse in (float, lambda t: int(t, 0)):
        try:
            parse(text)
            return True
        except ValueError:
            pass
    return False


NOT_A_NUMBER = (st.from_regex(r"[g-zG-Z_][a-zA-Z0-9_.,-]{0,8}", fullmatch=True)
                .filter(lambda t: not _is_number(t))
                | st.sampled_from(["abc", "", "1.5.2", "1,2", "--", "one",
                                   "NaNa", "0x", "1e", "+-3"]))


@FEW
@given(flag=st.sampled_from(INTEGER_FLAGS + FLOAT_FLAGS), value=NOT_A_NUMBER)
def test_numbers_of_the_wrong_type_are_refused_by_the_parser(flag, value):
    """Text where a number is expected: absl refuses it while parsing."""
    fv = fresh_flags()
    with pytest.raises(flags.Error, match=f"--{flag}"):
        fv(["prog", f"--{flag}={value}"])


@FEW
@given(flag=st.sampled_from(INTEGER_FLAGS),
       value=st.floats(allow_nan=False, allow_infinity=False).filter(
           lambda v: v != int(v)))
def test_fractions_for_integer_flags_are_refused(flag, value):
    fv = fresh_flags()
    with pytest.raises(flags.Error, match=f"--{flag}"):
        fv(["prog", f"--{flag}={value}"])


@FEW
@given(flag=st.sampled_from(ENUM_FLAGS + BOOLEAN_FLAGS),
       value=st.text(string.ascii_letters + string.digits + "-_.", max_size=10))
def test_values_outside_the_choices_are_refused(flag, value):
    choices = getattr(FLAGS[flag].parser, "enum_values", None) or [
        "true", "false", "t", "f", "1", "0"]
    if value.lower() in [c.lower() for c in choices]:
        return  # a valid choice (absl's booleans ignore case)
    fv = fresh_flags()
    with pytest.raises(flags.Error, match=f"--{flag}"):
        fv(["prog", f"--{flag}={value}"])


@FEW
@given(value=st.integers().filter(lambda n: not 1 <= n <= 3).map(str)
       | st.text(string.ascii_letters + string.digits + string.punctuation
                 + " ", max_size=6).filter(
           lambda s: s != "all" and not (s.isdigit() and 1 <= int(s) <= 3)))
def test_stages_the_model_does_not_have_are_refused(value):
    assert_refused("train_seq", value)


@FEW
@given(low=st.floats(-1e6, 1e6), high=st.floats(-1e6, 1e6))
def test_log_var_clip_needs_low_below_high(low, high):
    if low < high:
        assert config_lib.from_flags(_parsed(f"--log_var_clip={low},{high}")
                                     ).model.log_var_clip == (low, high)
    else:
        assert_refused("log_var_clip", f"{low},{high}")


@FEW
@given(parts=st.lists(st.sampled_from(["1", "-3", "x", "", "nan", "inf"]),
                      min_size=0, max_size=4).filter(lambda p: len(p) != 2))
def test_log_var_clip_needs_exactly_two_numbers(parts):
    assert_refused("log_var_clip", ",".join(parts))


def _parsed(*args: str) -> flags.FlagValues:
    fv = fresh_flags()
    fv(["prog", *args])
    return fv


# ------------------------------------------------ the cases of the issue
CASES = [
    ("--batch_size=abc", "--batch_size"),
    ("--z_dim=-3", "--z_dim"),
    ("--epoch_size=0", "--epoch_size"),
    ("--learning_rate=-1", "--learning_rate"),
    ("--max_examples=-5", "--max_examples"),
    ("--train_seq=7", "--train_seq"),
    ("--log_var_clip=3,-100", "--log_var_clip"),
    ("--fade_in_duration=-1", "--fade_in_duration"),
    ("--dataset=foo", "--dataset"),
    ("--restore=x", "--restore"),
    ("--mode=9", "--mode"),
    ("--z_dim=1.5", "--z_dim"),
    ("--batch_size=", "--batch_size"),
    ("--learning_rate=nan", "--learning_rate"),
    ("--beta=inf", "--beta"),
    ("--seed=-1", "--seed"),
    ("--gpu_usage=2", "--gpu_usage"),
    ("--adam_beta1=1", "--adam_beta1"),
    ("--max_to_keep=0", "--max_to_keep"),
    ("--xla=maybe", "--xla"),
    ("--train_seq=0", "--train_seq"),
    ("--log_var_clip=1", "--log_var_clip"),
    ("--log_file=../x.log", "--log_file"),
]

# Values that once passed the flags and failed later (what happened then).
REFUSED_BEFORE_ANYTHING_LOADS = [
    ("--batch_size=1000000000000", "--batch_size",
     "refused only once the dataset was loaded"),
    ("--dataset=3dshapes --batch_size=480001", "--batch_size",
     "larger than the whole fixed-size dataset"),
    ("--max_examples=100 --batch_size=101", "--batch_size",
     "larger than the training subset"),
    ("--max_examples=1000000000000", "--max_examples",
     "refused only by the loader"),
    ("--max_examples=737281", "--max_examples",
     "one image more than dSprites has"),
    ("--z_dim=1000000000000", "--z_dim",
     "an out-of-memory traceback after config.json was written"),
    ("--seed=4294967296", "--seed",
     "NumPy's 'Seed must be between 0 and 2**32 - 1' traceback after "
     "config.json was written"),
    ("--log_file=", "--log_file",
     "the run directory opened as a file: IsADirectoryError traceback"),
    ("--log_file=config.json", "--log_file",
     "log lines appended to config.json, so every later command on the "
     "directory was refused"),
    ("--log_file=ckpt/x.log", "--log_file",
     "a log file inside the checkpoint folder"),
]


@pytest.mark.parametrize("arg, flag", CASES, ids=[a for a, _ in CASES])
def test_bad_values_of_the_issue_name_the_flag(arg, flag):
    message = refusal(arg)
    assert flag in message and "\n" not in message.strip(), message


@pytest.mark.parametrize("arg, flag, why", REFUSED_BEFORE_ANYTHING_LOADS,
                         ids=[a for a, _, _ in REFUSED_BEFORE_ANYTHING_LOADS])
def test_values_refused_before_anything_loads(arg, flag, why):
    message = refusal(*arg.split())
    assert flag in message and "\n" not in message.strip(), (why, message)


# ------------------------------------------------------ the command line
def flag_lines(stderr: str, flag: str) -> list[str]:
    return [l for l in stderr.splitlines() if f"{flag}=" in l]


@pytest.mark.parametrize("arg, flag, expected", [
    ("--batch_size=abc", "--batch_size",
     "flag --batch_size=abc: invalid literal for int() with base 10: 'abc'"),
    ("--z_dim=-3", "--z_dim",
     "provlae_tf: --z_dim=-3: expected a positive integer."),
    ("--mode=9", "--mode", "flag --mode=9: value should be one of"),
    ("--log_var_clip=3,-100", "--log_var_clip",
     "provlae_tf: --log_var_clip=3,-100: expected two numbers low,high with "
     "low < high"),
    # Larger than the smoke subset of --max_examples=256.
    ("--batch_size=1000000000000", "--batch_size",
     "provlae_tf: --batch_size=1000000000000: expected at most the 256 "
     "training images"),
])
def test_bad_value_on_the_command_line(tmp_path, arg, flag, expected):
    run_dir = tmp_path / "run"
    result = run_main(f"--flagfile={SMOKE}", "--max_examples=256",
                      f"--checkpoint_dir={run_dir}",
                      f"--data_dir={tmp_path / 'data'}", arg)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = flag_lines(result.stderr, flag)
    assert len(lines) == 1, result.stderr
    assert expected in lines[0], lines[0]
    assert not run_dir.exists()


def test_seed_beyond_32_bits_on_the_command_line(tmp_path):
    """Once: config.json was written, then a ValueError traceback."""
    run_dir = tmp_path / "run"
    result = run_main(f"--flagfile={SMOKE}", "--max_examples=256",
                      "--batch_size=64", "--info_images=0",
                      f"--checkpoint_dir={run_dir}",
                      f"--data_dir={tmp_path / 'data'}", "--seed=4294967296")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(flag_lines(result.stderr, "--seed")) == 1
    assert not run_dir.exists()


def test_messages_quote_the_value_given():
    """The message repeats the value as typed, so it can be found in a long
    command line or flagfile."""
    for arg in ("--z_dim=-3", "--epoch_size=0", "--max_examples=-5",
                "--fade_in_duration=-1", "--train_seq=7"):
        assert refusal(arg).startswith(arg + ":"), refusal(arg)

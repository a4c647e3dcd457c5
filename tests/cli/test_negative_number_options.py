"""A negative number given to an option after a space (`--lr -inf`) is the option's value, as after "="
(`--lr=-inf`): argparse's pattern for negative numbers knew only -5 and -.5, so -inf, -nan and -1e5 were
read as unknown options ("argument --lr: expected one argument") instead of the option's own message.
A real option is still an option."""

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from seqlab.cli import _NEGATIVE_NUMBER, _Parser, build_parser, main


@pytest.fixture(scope="module")
def runs(tmp_path_factory, one_thread):
    """(a text file, a tiny forecast run)."""
    root = tmp_path_factory.mktemp("negative")
    (root / "t.txt").write_text("the time traveller for so it will be convenient to speak of him\n" * 4)
    assert main(["train", "forecast", "--epochs", "1", "--hidden", "4", "--out", str(root / "fc")]) == 0
    return root / "t.txt", root / "fc"


def _run(argv, capsys):
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("command, flag, value", [
    ("train lm", "--lr", "-inf"), ("train lm", "--lr", "-nan"), ("train lm", "--lr", "-1e5"),
    ("train lm", "--lr", "-Infinity"), ("train lm", "--lr", "-1.5E-3"), ("train lm", "--clip", "-inf"),
    ("generate", "--temperature", "-inf"), ("generate", "--top-p", "-NaN"), ("generate", "--prefix", "-inf"),
    ("forecast", "--interval", "-inf"), ("forecast", "--interval", "-2e-1"), ("forecast", "--steps", "-1e3"),
    ("train lm", "--lr", "-1_000"), ("train lm", "--lr", "-1_000.5"), ("train lm", "--lr", "-1e1_0"),
    ("forecast", "--steps", "-1_000"),
])
def test_a_negative_number_after_a_space_gives_the_options_own_message(runs, tmp_path, capsys, command, flag,
                                                                        value):
    text, fc = runs
    argv = {"train lm": ["train", "lm", "--data", str(text), "--epochs", "1", "--out", str(tmp_path / "o")],
            "generate": ["generate", "--checkpoint", str(tmp_path / "none"), "--prefix", "a"],
            "forecast": ["forecast", "--checkpoint", str(fc), "--steps", "3"]}[command]
    code, err = _run(argv + [flag, value], capsys)
    assert (code, err) == _run(argv + [f"{flag}={value}"], capsys)  # what the "=" form says
    assert code == 2 and err.count("\n") == 1 and "expected one argument" not in err, err
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def test_digits_grouped_by_underscores_are_read_as_float_and_int_read_them(runs, tmp_path, capsys):
    # `--lr -1_000` was "argument --lr: expected one argument", where float("-1_000") is -1000.0
    text, fc = runs
    code, err = _run(["train", "lm", "--data", str(text), "--epochs", "1", "--out", str(tmp_path / "o"), "--lr",
                      "-1_000"], capsys)
    assert code == 2 and "learning rate must be" in err and err.endswith(f"got {float('-1_000')}\n"), err
    code, err = _run(["forecast", "--checkpoint", str(fc), "--steps", "-1_000"], capsys)
    assert code == 2 and err.startswith(f"seqlab: error: --steps must be positive, got {int('-1_000')}"), err


def _float_reads(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet="0123456789_.eE+-", max_size=8))
@example("1_000")
@example("1_000.5")
@example("1e1_0")
@example("_1")
@example("1__0")
@example("1_.5")
@example("1._5")
@example("1e_5")
@example("1_")
@example(".5_5")
def test_the_pattern_takes_a_negative_number_exactly_where_float_reads_one(tail):
    text = "-" + tail
    assert bool(_NEGATIVE_NUMBER.match(text)) == _float_reads(text), text


def test_a_real_option_after_an_option_is_still_an_option(runs, tmp_path, capsys):
    text, _ = runs
    code, err = _run(["train", "lm", "--data", str(text), "--lr", "--epochs", "1", "--out", str(tmp_path / "o")],
                     capsys)
    assert code == 2 and "argument --lr: expected one argument" in err
    # a short option is matched before the pattern is asked: "-inf" is -i with "nf", as argparse has it
    p = _Parser(prog="p")
    p.add_argument("-i")
    p.add_argument("--x", type=float)
    assert p.parse_args(["-inf"]).i == "nf"
    q = _Parser(prog="q")
    q.add_argument("--x", type=float)
    q.add_argument("words", nargs="*")
    args = q.parse_args(["--x", "-inf", "-1e5", "-nan"])  # and a positional may be a negative number
    assert args.x == -math.inf and args.words == ["-1e5", "-nan"]


negative = st.one_of(st.floats(max_value=-0.0, allow_infinity=True), st.just(math.nan))
spelled = st.sampled_from([repr, "{:e}".format, "{:E}".format, "{:.3f}".format, "{:g}".format,
                           lambda f: repr(f).upper(), lambda f: repr(f).replace("inf", "Infinity")])


@settings(max_examples=100, deadline=None, database=None)
@given(negative, spelled)
def test_any_negative_float_text_is_the_value_after_a_space_as_after_equals(value, spell):
    text = spell(value)
    if not text.startswith("-"):  # (nan's texts: not negative numbers, positional all along)
        text = "-" + text
    parser = _parser()
    spaced = parser.parse_args(["train", "lm", "--out", "o", "--lr", text]).lr
    joined = parser.parse_args(["train", "lm", "--out", "o", f"--lr={text}"]).lr
    assert float(text) == spaced or (math.isnan(spaced) and math.isnan(float(text)))
    assert spaced == joined or (math.isnan(spaced) and math.isnan(joined))


_built = []


def _parser():
    if not _built:  # (building it imports every task: once)
        _built.append(build_parser())
    return _built[0]

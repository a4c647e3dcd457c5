"""Property tests (hypothesis) of SPEC §12's contract at the command line: an option value that cannot work
(a size of 0 or below, or past what torch can count; a learning rate that is NaN or not positive; text
where a number belongs) is exit code 2 with one `seqlab...: error:` line on stderr and no traceback,
never exit 1. Most values are refused before training starts; the decoding commands read a tiny run."""

import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from seqlab.cli import main
from seqlab.errors import SeqlabError

TEXT = "the time traveller for so it will be convenient to speak of him\n" * 12
PAIRS = [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !"), ("I lost.", "J'ai perdu."),
         ("I'm home.", "Je suis chez moi."), ("He's calm.", "Il est calme.")]
fixture_ok = settings(max_examples=15, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def runs(tmp_path_factory, one_thread):
    """(text file, tiny LM run, tiny translation run, a folder for the refused runs)."""
    root = tmp_path_factory.mktemp("bad_options")
    (root / "t.txt").write_text(TEXT)
    (root / "pairs.txt").write_text("".join(f"{a}\t{b}\n" for a, b in PAIRS * 6))
    assert main(["train", "lm", "--data", str(root / "t.txt"), "--hidden", "4", "--batch-size", "2",
                 "--num-steps", "4", "--epochs", "1", "--out", str(root / "lm")]) == 0
    assert main(["train", "translate", "--data", str(root / "pairs.txt"), "--num-steps", "6", "--embed", "4",
                 "--hidden", "4", "--layers", "1", "--dropout", "0", "--batch-size", "16", "--valid-frac", "0.2",
                 "--test-frac", "0", "--min-freq", "1", "--device", "cpu", "--epochs", "1",
                 "--out", str(root / "nmt")]) == 0
    return root / "t.txt", root / "lm", root / "nmt", root


def _refused(argv, capsys, may_run: bool = False):
    """Exit code 2 (returned, or argparse's SystemExit) with one error line, the last on stderr, and no traceback
    (a note before it, as translate's "translating with ...", is allowed); `may_run`: or exit code 0."""
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's usage error: one line
        code = stop.code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert "Traceback" not in captured.err + captured.out
    if may_run and code == 0:
        return
    assert code == 2, (argv, captured.err[-3000:])
    assert lines and lines[-1].startswith("seqlab") and ": error: " in lines[-1], lines
    assert sum(": error: " in line for line in lines) == 1, lines


def _unreadable_as(parse):
    """Whether a text is no value `parse` (int, float) reads: text where a number belongs."""
    def unreadable(text: str) -> bool:
        try:
            parse(text)
        except ValueError:
            return True
        return False
    return unreadable


SIZES = ["--hidden", "--embed", "--batch-size", "--num-steps", "--epochs", "--eval-batch-size"]
bad_values = st.one_of(
    st.tuples(st.sampled_from(SIZES), st.integers(max_value=0).map(str)),
    st.tuples(st.sampled_from(["--hidden", "--embed"]), st.integers(2**61, 2**80).map(str)),  # past int64 bytes
    st.tuples(st.sampled_from(["--batch-size", "--num-steps"]), st.integers(2**20, 2**80).map(str)),  # too short
    st.tuples(st.sampled_from(SIZES + ["--seed", "--max-tokens"]), st.text(max_size=6).filter(_unreadable_as(int))),
    st.tuples(st.just("--lr"), st.one_of(st.floats(max_value=0), st.just(math.nan), st.just(math.inf)).map(repr)),
    st.tuples(st.just("--dropout"), st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=1),
                                              st.just(math.nan)).map(repr)),
    st.tuples(st.sampled_from(["--lr", "--clip", "--dropout"]), st.text(max_size=6).filter(_unreadable_as(float))),
    st.tuples(st.sampled_from(["--cell", "--optimizer", "--level", "--device"]),
              st.text(max_size=6).filter(lambda t: t not in ("rnn", "gru", "lstm", "sgd", "adam", "adamw", "char",
                                                            "word", "cpu", "auto") and not t.startswith("cpu:0"))),
)


@fixture_ok
@given(bad_values)
@example(("--hidden", str(2**64)))  # was exit 1: torch's "Overflow when unpacking long long"
@example(("--embed", str(2**62)))  # was exit 1: "Storage size calculation overflowed"
@example(("--hidden", str(2**61)))
def test_a_bad_training_option_is_exit_2_with_one_line(runs, capsys, flag_value):
    text, _, _, root = runs
    flag, value = flag_value
    _refused(["train", "lm", "--data", str(text), "--hidden", "4", "--batch-size", "2", "--num-steps", "4",
              "--epochs", "1", "--out", str(root / "refused"), f"{flag}={value}"], capsys)
    assert not (root / "refused" / "best.safetensors").exists()


@fixture_ok
@given(st.sampled_from([("generate", "--num-tokens"), ("translate", "--beam"), ("translate", "--batch-size"),
                        ("translate", "--max-len")]), st.integers(2**63, 2**100))
@example(("translate", "--beam"), 2**64)  # was exit 1: a ValueError from torch (repeat_interleave)
@example(("translate", "--batch-size"), 2**64)  # was exit 1: islice's stop past sys.maxsize (now: all at once)
@example(("generate", "--num-tokens"), 2**64)  # was exit 1: a TypeError from torch.empty
def test_a_decoding_size_past_64_bits_is_exit_2_with_one_line_or_runs(runs, capsys, command_flag, size):
    _, lm, nmt, _ = runs
    command, flag = command_flag
    argv = (["generate", "--checkpoint", str(lm), "--prefix", "the"] if command == "generate" else
            ["translate", "--checkpoint", str(nmt), "go ."])
    _refused(argv + [flag, str(size)], capsys, may_run=flag == "--batch-size")


@pytest.mark.parametrize("samples", [2**64, 2**100])
def test_a_huge_num_samples_is_refused_before_any_list_of_rows_is_built(runs, capsys, samples):
    # a Python list of --num-samples rows was built first: 2**64 filled the memory (6 GB and on) before torch
    # could refuse; the rows are repeated as a tensor now, and the message names what generate can make smaller
    _, lm, _, _ = runs
    _refused(["generate", "--checkpoint", str(lm), "--prefix", "the", "--num-tokens", "3", "--temperature", "1",
              "--num-samples", str(samples)], capsys)


def test_out_of_memory_names_what_the_command_can_make_smaller():
    from seqlab.cli import out_of_memory_message

    exc = MemoryError()
    assert out_of_memory_message(exc, "generate") == ("out of memory: `seqlab generate` needs more memory than this "
                                                      "machine has; reduce --num-samples, --num-tokens")
    assert "--beam" in out_of_memory_message(exc, "translate") and "checkpoint" not in out_of_memory_message(
        exc, "translate")
    assert out_of_memory_message(exc, "train").endswith("checkpoints already written are kept")


def test_a_stack_of_layers_past_the_memory_is_refused_before_it_is_built(runs, capsys, monkeypatch):
    # torch builds a stack one layer at a time: --layers 2**31 of --hidden 4 ran for hours before running out
    from seqlab.training import common

    text, _, _, root = runs
    monkeypatch.setattr(common, "physical_memory", lambda: 2**30)  # a 1 GiB machine, whatever this one has
    _refused(["train", "lm", "--data", str(text), "--hidden", "4", "--layers", str(2**31), "--epochs", "1",
              "--out", str(root / "deep")], capsys)
    # the bound: 4 bytes * hidden * (hidden + 1) + 1 KB per layer; below it the stack is built
    common.check_stack_fits(2, 8000)  # 2 * (4 * 8000 * 8001 + 1024) bytes: 0.48 GiB
    with pytest.raises(SeqlabError, match=r"--layers 5 of --hidden 8,000 would need more than 1\.2 GiB for the "
                                          r"layers alone, past this machine's 1 GiB of memory: reduce --layers"):
        common.check_stack_fits(5, 8000)  # 1,280,165,120 bytes: 1.19 GiB
    # below a GiB, two digits (as forecast --steps says it), not "more than 0 GiB ... this machine's 0 GiB"
    monkeypatch.setattr(common, "physical_memory", lambda: 2**28)
    with pytest.raises(SeqlabError, match=r"--layers 2 of --hidden 8,000 would need more than 0\.48 GiB for the "
                                          r"layers alone, past this machine's 0\.25 GiB of memory"):
        common.check_stack_fits(2, 8000)
    monkeypatch.setattr(common, "physical_memory", lambda: None)  # (Windows: not known, nothing refused)
    common.check_stack_fits(5, 8000)


@pytest.mark.parametrize("length", [2**61 - 1, 2**61, 2**63 - 2, 2**63, 2**64])
def test_a_series_length_past_64_bits_is_exit_2(runs, capsys, length):
    # numpy's OverflowError "int too big to convert" was a traceback and exit 1; then torch's errors for a time
    # axis (1 to length + 1) near or past int64: 2**63 - 2 and 2**63 were tracebacks on every torch (arange's
    # length, computed in float64, rounds up to 2**63), and 2**64 on torch 2.2
    _, _, _, root = runs
    _refused(["train", "forecast", "--length", str(length), "--epochs", "1", "--out", str(root / "long")], capsys)
    if length >= 2**61:  # refused before torch is asked (2**61 - 1: torch's refusal of 2**63 bytes, out of memory)
        from seqlab.data.timeseries import sine_series

        with pytest.raises(SeqlabError, match=r"the series length T must be below 2\*\*61 .* got " + str(length)):
            sine_series(length)


def test_a_size_past_int64_is_out_of_memory_whatever_error_class_torch_gives_it():
    # torch 2.13 raises "Overflow when unpacking long" as a ValueError (repeat_interleave) or a TypeError
    # (torch.empty); torch 2.2 raises it as a RuntimeError from repeat_interleave and arange: --beam 2**64 and
    # --num-samples 2**64 were tracebacks there. Each as that torch raises it:
    from seqlab.cli import out_of_memory, out_of_memory_message

    for exc in (ValueError("Overflow when unpacking long"), TypeError("Overflow when unpacking long long"),
                RuntimeError("Overflow when unpacking long")):
        assert out_of_memory(exc), exc
        assert "(a size past 2**63)" in out_of_memory_message(exc, "translate")
    assert not out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))

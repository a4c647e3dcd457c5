"""What the tests of a new user's review of training runs share (tests/reliability, on the test
path): tiny inputs for every task, a few-second run of each, and a command's exit code and output."""

from seqlab.cli import main
from cli_errors import PAIRS, TEXT, write_digits

TASKS = ("lm", "translate", "forecast", "classify")


def make_inputs(root):
    """Tiny inputs of every task in `root` (a test module's `fx` fixture)."""
    (root / "tiny.txt").write_text(TEXT, encoding="utf-8")
    (root / "pairs.txt").write_text("\n".join(f"{a}\t{b}" for a, b in PAIRS * 6) + "\n", encoding="utf-8")
    (root / "digits").mkdir()
    write_digits(root / "digits")
    return root


def argv(task, fx, out, *extra):
    base = {"lm": ["train", "lm", "--data", str(fx / "tiny.txt"), "--level", "char", "--hidden", "8", "--batch-size",
                   "2", "--num-steps", "5", "--max-tokens", "400", "--device", "cpu"],
            "translate": ["train", "translate", "--data", str(fx / "pairs.txt"), "--num-steps", "6", "--embed", "4",
                          "--hidden", "8", "--layers", "1", "--batch-size", "8", "--valid-frac", "0.3",
                          "--test-frac", "0.2", "--min-freq", "1", "--bleu-every", "0", "--device", "cpu"],
            "forecast": ["train", "forecast", "--hidden", "4"],
            "classify": ["train", "classify", "--data-dir", str(fx / "digits"), "--valid-size", "10", "--hidden", "4",
                         "--layers", "1", "--batch-size", "25", "--no-progress", "--device", "cpu"]}[task]
    return base + ["--out", str(out), *extra]


def run(argv, capsys, code=0):
    capsys.readouterr()
    got = main(argv)
    captured = capsys.readouterr()
    assert got == code, captured.err[-2000:]
    return captured

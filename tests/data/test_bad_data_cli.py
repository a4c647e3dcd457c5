"""Bad data files through the CLI (data review): each gives exit code 2 and one line
"seqlab: error: ...", no traceback, and no run folder, as tests/reliability/test_bad_inputs.py asks."""

import numpy as np
import pytest

from seqlab.data.mnist import write_idx

from cli_errors import expect_bad_input  # tests/reliability, on the test path

LM = ["train", "lm", "--level", "word", "--hidden", "8", "--epochs", "1", "--batch-size", "2", "--num-steps", "5",
      "--device", "cpu"]
FORECAST = ["train", "forecast", "--column", "value"]
PAIRS = "".join(f"go {i} .\tva {i} !\n" for i in range(30))
ROWS = "".join(f"2020-01-{i % 28 + 1:02d},{i}\n" for i in range(60))


def _digits(root, size):
    rng = np.random.default_rng(0)
    for name, n in (("train", 60), ("t10k", 20)):
        write_idx(root / f"{name}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, size, size), dtype=np.uint8))
        write_idx(root / f"{name}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8))
    return root


def _files(tmp_path):
    f = {"thousands": ("date,value\n" + "".join(f"2020-01-{i + 1:02d},1,{i:03d}\n" for i in range(28)), "t.csv"),
         "semicolon": ("date;value\n" + ROWS.replace(",", ";"), "s.csv"),
         "blank_first": ("\ndate,value\n" + ROWS, "b.csv"),
         "utf16": ("the quick brown fox\n" * 50).encode("utf-16"),
         "late_nul": b"the quick brown fox\n" * 5000 + b"a\x00b\n",
         "empty_side": (PAIRS + "hello .\t\n", "p.txt"),
         "words": ("the time machine by h g wells\n" * 40, "w.txt")}
    out = {}
    for key, content in f.items():
        if isinstance(content, bytes):
            out[key] = tmp_path / f"{key}.txt"
            out[key].write_bytes(content)
        else:
            out[key] = tmp_path / content[1]
            out[key].write_text(content[0], encoding="utf-8")
    (tmp_path / "digits14").mkdir()
    out["digits14"] = _digits(tmp_path / "digits14", 14)
    return out


CASES = [
    ("CSV with an unquoted thousands separator", FORECAST + ["--data", "{thousands}"],
     "line 2 has 3 fields but the header has 2: an unquoted thousands separator"),
    ("semicolon-separated CSV", FORECAST + ["--data", "{semicolon}"], "delimiter is probably ';'"),
    ("CSV whose first line is blank", FORECAST + ["--data", "{blank_first}"], "first line is blank"),
    ("a folder as the CSV", FORECAST + ["--data", "{tmp}"], "is a folder, not a CSV file"),
    ("UTF-16 corpus", LM + ["--data", "{utf16}"], "looks like UTF-16 text"),
    ("NUL byte past 64 KiB", LM + ["--data", "{late_nul}"], "looks binary"),
    ("--max-vocab 0", LM + ["--data", "{words}", "--max-vocab", "0"], "--max-vocab"),
    ("pair with an empty target", ["train", "translate", "--data", "{empty_side}"],
     "line 31 has an empty target side"),
    ("14x14 digits", ["train", "classify", "--data-dir", "{digits14}"], "holds 14x14 images"),
    ("a file as the MNIST folder", ["train", "classify", "--data-dir", "{words}"], "is a file, not a folder"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_data_file_is_one_line_exit_2(case, tmp_path, capsys):
    _, argv, fragment = case
    names = {k: str(v) for k, v in _files(tmp_path).items()} | {"tmp": str(tmp_path)}
    out = tmp_path / "run"
    expect_bad_input([a.format(**names) for a in argv] + ["--out", str(out)], fragment, capsys)
    assert not out.exists()

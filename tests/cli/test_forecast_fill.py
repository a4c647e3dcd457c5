"""`--fill linear|ffill` through the CLI: `seqlab train forecast` on a CSV with missing dates and empty
cells, and `seqlab forecast --data` on a newer one with the run's fill (or its own)."""

import datetime
import json
import math

import pytest
import torch

from seqlab.cli import main
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.forecast import from_checkpoint

DAY0 = datetime.date(2024, 1, 1)


def _day(i):
    return DAY0 + datetime.timedelta(days=i)


def _values(n, first=0):
    return [round(10 + 3 * math.sin((first + i) / 4), 3) for i in range(n)]


def _write(path, rows):
    path.write_text("date,sales\n" + "".join(f"{d},{v}\n" for d, v in rows))
    return path


def _linear(values, missing):
    """`values` with those at `missing` (isolated or runs, never first or last) replaced, by hand, on
    the straight line between the known neighbours."""
    out = list(values)
    for i in sorted(missing):
        lo = max(j for j in range(i) if j not in missing)
        hi = min(j for j in range(i + 1, len(values)) if j not in missing)
        out[i] = values[lo] + (values[hi] - values[lo]) * (i - lo) / (hi - lo)
    return out


TRAIN_N, TRAIN_GONE, TRAIN_EMPTY = 80, {20, 21}, 40  # days 20 and 21 have no row; day 40's cell is empty
NEW_FIRST, NEW_N, NEW_GONE = 150, 30, {12, 13, 14}


@pytest.fixture(scope="module")
def filled_run(tmp_path_factory, one_thread):
    folder = tmp_path_factory.mktemp("fill")
    values = _values(TRAIN_N)
    csv = _write(folder / "train.csv", [(_day(i), "" if i == TRAIN_EMPTY else v) for i, v in enumerate(values)
                                        if i not in TRAIN_GONE])
    out = folder / "run"
    code = main(["train", "forecast", "--data", str(csv), "--column", "sales", "--fill", "linear", "--epochs", "2",
                 "--out", str(out)])
    assert code == 0
    return out, csv, values


def _run(capsys, *argv):
    capsys.readouterr()
    code = main([*map(str, argv)])
    return code, capsys.readouterr()


def test_training_fills_its_csv_and_keeps_the_fill_in_its_config(filled_run, capsys):
    run, csv, values = filled_run
    ckpt = load_checkpoint(run, "best")
    _, series, cfg = from_checkpoint(ckpt)
    assert cfg.series.fill == "linear" and ckpt.meta["config"]["series"]["fill"] == "linear"
    expected = _linear(values, TRAIN_GONE | {TRAIN_EMPTY})
    assert series.x.tolist() == torch.tensor(expected, dtype=torch.float32).tolist()
    assert series.dates.length == TRAIN_N and series.dates.iso(TRAIN_N) == str(_day(TRAIN_N))
    # the note, on stderr (trained again into another folder, to hear it)
    code, printed = _run(capsys, "train", "forecast", "--data", csv, "--column", "sales", "--fill", "ffill",
                         "--epochs", "1", "--out", run.parent / "ffill")
    assert code == 0
    assert ("seqlab: note: --fill ffill filled 3 missing values (2 missing dates and 1 empty cell, the longest gap 2 "
            "steps, at 2024-01-21..2024-01-22)") in printed.err.splitlines()
    assert "--fill" not in printed.out and "warning" not in printed.err  # 3 of 80: under a tenth
    ffilled = load_checkpoint(run.parent / "ffill", "best").extra["series"]
    by_hand = [values[19] if i in TRAIN_GONE else values[39] if i == TRAIN_EMPTY else v for i, v in enumerate(values)]
    assert ffilled.tolist() == torch.tensor(by_hand, dtype=torch.float32).tolist()
    # without --fill the same file is refused (its empty cell first), naming --fill as one fix
    code, printed = _run(capsys, "train", "forecast", "--data", csv, "--column", "sales", "--epochs", "1",
                         "--out", run.parent / "none")
    assert code == 2 and printed.err.count("\n") == 1
    assert "line 40, column 'sales': the cell is empty: --fill linear or --fill ffill fills missing values" \
        in printed.err
    # --resume with another fill is refused (the series would change under the trained weights)
    code, printed = _run(capsys, "train", "forecast", "--data", csv, "--column", "sales", "--fill", "ffill",
                         "--epochs", "3", "--resume", "--out", run)
    assert code == 2 and "was trained with fill 'linear'; now fill 'ffill'" in printed.err


def test_forecast_data_reuses_the_runs_fill_and_matches_a_file_filled_by_hand(filled_run, tmp_path, capsys):
    run, _, _ = filled_run
    values = _values(NEW_N, NEW_FIRST)
    gapped = _write(tmp_path / "newer.csv", [(_day(NEW_FIRST + i), v) for i, v in enumerate(values)
                                             if i not in NEW_GONE])
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 3, "--data", gapped, "--json")
    assert code == 0
    assert ("seqlab: note: --fill linear filled 3 missing values (3 missing dates, the longest gap 3 steps, at "
            "2024-06-11..2024-06-13)") in printed.err.splitlines()
    result = json.loads(printed.out)
    assert result["date"] == [str(_day(NEW_FIRST + NEW_N + h)) for h in range(3)]
    # the same forecast as from the file filled by hand (no gaps: --fill none reads it as it is)
    by_hand = _write(tmp_path / "by_hand.csv", [(_day(NEW_FIRST + i), repr(v)) for i, v in
                                                enumerate(_linear(values, NEW_GONE))])
    code, plain = _run(capsys, "forecast", "--checkpoint", run, "--steps", 3, "--data", by_hand, "--fill", "none",
                       "--json")
    assert code == 0 and json.loads(plain.out)["predictions"] == pytest.approx(result["predictions"], abs=1e-6)
    assert "--fill" not in plain.err
    # --start counts the filled series' positions: 12 is the first filled date
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 1, "--data", gapped, "--start", 12)
    first = printed.out.splitlines()[0].split("\t")
    assert code == 0 and first[0] == "2024-06-11" and first[2] == f"{_linear(values, NEW_GONE)[12]:.6f}"
    # its own --fill overrides the run's: ffill, as a file carried forward by hand
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 3, "--data", gapped, "--fill", "ffill",
                         "--json")
    carried = _write(tmp_path / "carried.csv", [(_day(NEW_FIRST + i), values[11] if i in NEW_GONE else v)
                                                for i, v in enumerate(values)])
    code2, plain = _run(capsys, "forecast", "--checkpoint", run, "--steps", 3, "--data", carried, "--json")
    assert code == code2 == 0
    assert json.loads(plain.out)["predictions"] == pytest.approx(json.loads(printed.out)["predictions"], abs=1e-6)
    # and none refuses the gap, naming --fill, in one line
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 3, "--data", gapped, "--fill", "none")
    assert code == 2 and printed.out == "" and printed.err.count("\n") == 1
    assert "a gap (3 missing values) between line 13 (2024-06-10) and line 14 (2024-06-14)" in printed.err
    assert "fill the gaps (--fill linear or --fill ffill)" in printed.err


def test_fill_refusals_are_one_line(filled_run, tmp_path, capsys):
    run, _, _ = filled_run
    values = _values(NEW_N, NEW_FIRST)
    trailing = _write(tmp_path / "trailing.csv", [(_day(NEW_FIRST + i), "" if i >= NEW_N - 2 else v)
                                                  for i, v in enumerate(values)])
    uneven = tmp_path / "uneven.csv"
    uneven.write_text("date,sales\n" + "".join(f"{_day(NEW_FIRST + i)},{v}\n" for i, v in enumerate(values))
                      + f"{_day(NEW_FIRST + NEW_N)}T12:00,1.0\n")
    cases = [
        (["forecast", "--checkpoint", run, "--steps", 2, "--data", trailing],
         "column 'sales': its last 2 values are empty (2024-06-27..2024-06-28): --fill linear fills only between "
         "known values"),
        (["forecast", "--checkpoint", run, "--steps", 2, "--data", uneven],
         "resample it first (--fill fills only whole missing steps)"),
        (["forecast", "--checkpoint", run, "--steps", 2, "--fill", "ffill"],
         "--fill ffill fills the missing values of --data FILE.csv: give --data too"),
        (["train", "forecast", "--fill", "linear", "--out", tmp_path / "sine"],
         "--fill linear fills a CSV series' missing values: give --data FILE.csv"),
    ]
    for argv, message in cases:
        code, printed = _run(capsys, *argv)
        assert code == 2 and printed.out == "" and message in printed.err, (argv, printed.err)
        assert "Traceback" not in printed.err and "seqlab: note" not in printed.err

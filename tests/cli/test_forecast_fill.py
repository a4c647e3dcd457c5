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
    assert ("seqlab: note: --fill linear (the run's) filled 3 missing values (3 missing dates, the longest gap 3 "
            "steps, at 2024-06-11..2024-06-13)") in printed.err.splitlines()
    result = json.loads(printed.out)
    assert result["date"] == [str(_day(NEW_FIRST + NEW_N + h)) for h in range(3)]
    # the same forecast as from the file filled by hand (no gaps: --fill none reads it as it is)
    by_hand = _write(tmp_path / "by_hand.csv", [(_day(NEW_FIRST + i), repr(v)) for i, v in
                                                enumerate(_linear(values, NEW_GONE))])
    code, plain = _run(capsys, "forecast", "--checkpoint", run, "--steps", 3, "--data", by_hand, "--fill", "none",
                       "--json")
    assert code == 0 and json.loads(plain.out)["predictions"] == pytest.approx(result["predictions"], abs=1e-6)
    assert "--fill" not in plain.err
    # --start counts the filled series' positions: 12 is the first filled date (shown as filled, not scored)
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 1, "--data", gapped, "--start", 12)
    first = printed.out.splitlines()[0].split("\t")
    assert code == 0 and first[0] == "2024-06-11" and first[2] == "filled"
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


# ---- filled values are never scored as observed ----

HELD_GONE, HELD_EMPTY = 60, 70  # in the held-out part (positions 48..79 of 80: 60% minus tau trains)


@pytest.fixture(scope="module")
def heldout_gaps_run(tmp_path_factory, one_thread):
    folder = tmp_path_factory.mktemp("held")
    values = _values(TRAIN_N)
    csv = _write(folder / "train.csv", [(_day(i), "" if i == HELD_EMPTY else v) for i, v in enumerate(values)
                                        if i != HELD_GONE])
    out = folder / "run"
    code = main(["train", "forecast", "--data", str(csv), "--column", "sales", "--fill", "linear", "--epochs", "2",
                 "--out", str(out)])
    assert code == 0
    return out, values


def test_training_scores_only_observed_heldout_targets(heldout_gaps_run, capsys):
    from seqlab.training.forecast_eval import multistep, one_step

    run, _ = heldout_gaps_run
    report = json.loads((run / "report.json").read_text())
    assert report["heldout_from"] == 48 and report["heldout_filled"] == 2
    assert report["k_step"]["1"]["tokens"] == report["k_step"]["4"]["tokens"] == 32 - 2
    ckpt = load_checkpoint(run, "best")
    net, series, _ = from_checkpoint(ckpt)
    assert (~ckpt.extra["observed"]).nonzero().flatten().tolist() == [HELD_GONE, HELD_EMPTY]
    scored = [p for p in range(48, TRAIN_N) if p not in (HELD_GONE, HELD_EMPTY)]
    one = one_step(net, series)  # predictions of positions tau ..
    by_hand = sum((one[p - 4].item() - series.x[p].item()) ** 2 for p in scored) / len(scored)
    assert report["one_step_mse"] == pytest.approx(by_hand, rel=1e-5)
    multi = multistep(net, series, 48, TRAIN_N - 48)
    by_hand = sum((multi[p - 48].item() - series.x[p].item()) ** 2 for p in scored) / len(scored)
    assert report["multistep_mse"] == pytest.approx(by_hand, rel=1e-5)
    # the epochs' held-out MSE (which chose best) leaves them out too
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    best = next(r for r in records if r["epoch"] == report["best_epoch"])
    assert best["valid_loss"] == pytest.approx(report["one_step_mse"], rel=1e-4)
    # evaluate scores the same targets
    code, printed = _run(capsys, "evaluate", "--checkpoint", run)
    assert code == 0 and json.loads(printed.out)["tokens"] == 30


def test_training_says_how_many_heldout_values_are_filled(tmp_path, capsys, one_thread):
    values = _values(TRAIN_N)
    csv = _write(tmp_path / "t.csv", [(_day(i), "" if i == HELD_EMPTY else v) for i, v in enumerate(values)
                                      if i != HELD_GONE])
    code, printed = _run(capsys, "train", "forecast", "--data", csv, "--column", "sales", "--fill", "ffill",
                         "--epochs", "1", "--out", tmp_path / "run")
    assert code == 0
    assert ("2 of the 32 held-out values were filled in by --fill, not observed: the held-out MSEs (and the choice of "
            "best) score the other 30") in printed.out


def test_forecast_data_marks_filled_actuals_and_scores_the_observed_ones(filled_run, tmp_path, capsys):
    run, _, _ = filled_run
    values = _values(NEW_N, NEW_FIRST)
    gapped = _write(tmp_path / "newer.csv", [(_day(NEW_FIRST + i), v) for i, v in enumerate(values)
                                             if i not in NEW_GONE])
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 6, "--data", gapped, "--start", 10)
    assert code == 0
    lines = [line.split("\t") for line in printed.out.splitlines()]
    assert [row[2] for row in lines[:6]] == [f"{values[10]:.6f}", f"{values[11]:.6f}", "filled", "filled", "filled",
                                             f"{values[15]:.6f}"]
    preds = [float(row[1]) for row in lines[:6]]
    scored = [0, 1, 5]
    by_hand = sum((preds[i] - values[10 + i]) ** 2 for i in scored) / 3
    mse = float(lines[6][0].split(": ")[1].split(" ")[0])
    assert mse == pytest.approx(by_hand, rel=1e-4, abs=1e-5)
    assert lines[6][0].endswith("(3 of the 6 steps are filled values, not scored)")
    assert lines[6][0].startswith("MSE over the 3 observed values: ")
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 6, "--data", gapped, "--start", 10,
                         "--json")
    result = json.loads(printed.out)
    assert (result["tokens"], result["filled"]) == (3, 3) and result["mse"] == pytest.approx(by_hand, rel=1e-4)
    # the actual values beside the predictions, null where filled (the text output's 'filled')
    assert [v is None for v in result["actual"]] == [False, False, True, True, True, False]
    assert [result["actual"][i] for i in scored] == pytest.approx([values[10 + i] for i in scored], rel=1e-6)
    # every step filled: nothing to score
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 3, "--data", gapped, "--start", 12)
    assert code == 0 and printed.out.splitlines()[-1] == ("no observed values to score: 3 of the 3 steps are filled "
                                                          "values, not scored")
    # the forecast hears whether its inputs are filled, not what the model learns
    assert ("seqlab: note: 1 of the 4 values the forecast starts from (the last tau = 4 before its first step) was "
            "filled in by --fill linear (the run's): it continues invented values") in \
        _run(capsys, "forecast", "--checkpoint", run, "--steps", 1, "--data", gapped, "--start", 13)[1].err


def test_forecast_data_every_other_day_is_filled_on_the_runs_daily_grid(filled_run, tmp_path, capsys):
    run, _, _ = filled_run
    values = _values(NEW_N, NEW_FIRST)
    every2 = _write(tmp_path / "every2.csv", [(_day(NEW_FIRST + i), v) for i, v in enumerate(values) if i % 2 == 0])
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 2, "--data", every2, "--json")
    assert code == 0, printed.err
    odd = set(range(1, NEW_N - 1, 2))  # the file ends on day 28 of 30
    by_hand = _write(tmp_path / "by_hand.csv", [(_day(NEW_FIRST + i), repr(v)) for i, v in
                                                enumerate(_linear(values[:NEW_N - 1], odd))])
    code, plain = _run(capsys, "forecast", "--checkpoint", run, "--steps", 2, "--data", by_hand, "--fill", "none",
                       "--json")
    assert json.loads(printed.out)["predictions"] == pytest.approx(json.loads(plain.out)["predictions"], abs=1e-5)
    assert json.loads(printed.out)["date"] == [str(_day(NEW_FIRST + NEW_N - 1)), str(_day(NEW_FIRST + NEW_N))]
    warned = [line for line in printed.err.splitlines() if "warning" in line]
    assert warned == ["seqlab: warning: 14 of the series' 29 values (48%) are filled in by --fill linear (the run's), "
                      "not observed; 2 of the 4 values the forecast starts from (the last tau = 4 before its first "
                      "step) are filled: it continues invented values"]
    # without --fill the file is refused for its step, saying --fill fills the days between
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 2, "--data", every2, "--fill", "none")
    assert code == 2
    assert "(or --fill linear or --fill ffill fills in the steps of 1 day between its rows)" in printed.err


def test_undated_times_and_start_count_the_rows_dropped_before_the_first_value(filled_run, tmp_path, capsys):
    run, _, _ = filled_run
    values = _values(6, NEW_FIRST)
    f = _write(tmp_path / "lead.csv", [(_day(NEW_FIRST + i), "" if i < 2 else values[i - 2]) for i in range(8)])
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 2, "--data", f, "--date-column", "none")
    assert code == 0 and [line.split("\t")[0] for line in printed.out.splitlines()] == ["9", "10"]  # rows 8, 9
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 1, "--data", f, "--date-column", "none",
                         "--start", 6)
    row = printed.out.splitlines()[0].split("\t")
    assert code == 0 and row[0] == "7" and row[2] == f"{values[4]:.6f}"  # the file's 7th value row
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 1, "--data", f, "--date-column", "none",
                         "--start", 5)
    assert code == 2 and ("--start 5: prediction must start between position 6 (--fill dropped the file's first 2 "
                          "positions, empty; then tau = 4 values observed) and 8 (the file's end)") in printed.err


def test_too_few_values_after_dropped_rows_says_so(filled_run, tmp_path, capsys):
    run, _, _ = filled_run
    short = _write(tmp_path / "short.csv", [(_day(NEW_FIRST + i), "" if i < 2 else 10 + i) for i in range(5)])
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 1, "--data", short)
    assert code == 2 and (f"column 'sales' of CSV file {str(short)!r} (after --fill linear dropped its first 2 rows, "
                          "empty) has 3 values: the model reads the last tau = 4, so it needs at least 4") \
        in printed.err
    code, printed = _run(capsys, "train", "forecast", "--data", short, "--column", "sales", "--fill", "linear",
                         "--out", tmp_path / "run")
    assert code == 2 and (f"column 'sales' of {short} (after --fill linear dropped its first 2 rows, empty) has 3 "
                          "values; with tau = 4 it needs at least 5") in printed.err


def test_interval_errors_leave_filled_targets_out(heldout_gaps_run):
    import dataclasses

    from seqlab.training.forecast_interval import heldout_errors, interval_offsets

    run, _ = heldout_gaps_run
    net, series, _ = from_checkpoint(load_checkpoint(run, "best"))
    masked = heldout_errors(net, series, 3)
    every = heldout_errors(net, dataclasses.replace(series, observed=None), 3)
    for h, (m, e) in enumerate(zip(masked, every), start=1):
        # error r of horizon h is of the target at position 48 + r + h - 1
        keep = [r for r in range(len(e)) if 48 + r + h - 1 not in (HELD_GONE, HELD_EMPTY)]
        assert len(e) == 32 - h + 1 and len(m) == len(e) - 2
        assert torch.equal(m, e[keep])
    band = interval_offsets(net, series, 3, 0.8)
    assert band.samples == [30, 29, 28]
    assert band.median[0].item() == pytest.approx(torch.quantile(masked[0], 0.5).item())


def test_the_runs_own_series_counts_the_rows_fill_dropped_as_forecast_data_does(tmp_path, capsys, one_thread):
    # an undated file, 3 empty rows first: a run trained on it and forecast --data of the same file print the
    # same times for the same --start and predict the same values (the run keeps the dropped rows' count)
    lead = tmp_path / "lead.csv"
    lead.write_text("y\n" + "NA\n" * 3 + "".join(f"{v}\n" for v in _values(60)))
    out = tmp_path / "run"
    code, printed = _run(capsys, "train", "forecast", "--data", lead, "--column", "y", "--fill", "linear",
                         "--epochs", "1", "--out", out)
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["heldout_from_time"] == 3 + report["heldout_from"] + 1
    own = _run(capsys, "forecast", "--checkpoint", out, "--start", 10, "--steps", 3)
    new = _run(capsys, "forecast", "--checkpoint", out, "--start", 10, "--steps", 3, "--data", lead)
    assert own[0] == new[0] == 0
    rows = [line.split() for line in own[1].out.splitlines()[:3]]  # time, prediction, actual
    assert rows == [line.split() for line in new[1].out.splitlines()[:3]]
    assert [r[0] for r in rows] == ["11", "12", "13"]  # file positions (from 1), the dropped rows counted
    assert float(rows[0][2]) == pytest.approx(_values(60)[10 - 3])  # the file's 11th value row: 3 NA, then 7 more

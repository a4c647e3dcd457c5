"""`--max-gap N` through the CLI: `seqlab train forecast --fill ... --max-gap N` refuses a longer run of
missing values, and the run's limit is the default of `seqlab forecast --data` (older runs have none)."""

import datetime
import json

import pytest

from seqlab.cli import main
from seqlab.training.checkpoint import load_checkpoint, save_checkpoint
from seqlab.training.forecast import from_checkpoint

DAY0 = datetime.date(2024, 1, 1)


def _write(path, n, gone, first=0):
    """Daily values from DAY0 + first, the days `gone` (indices) left out."""
    path.write_text("date,sales\n" + "".join(f"{DAY0 + datetime.timedelta(days=first + i)},{10 + (i % 7)}\n"
                                             for i in range(n) if i not in gone))
    return str(path)


def _run(capsys, *argv):
    capsys.readouterr()
    code = main([*map(str, argv)])
    return code, capsys.readouterr()


@pytest.fixture(scope="module")
def gap_run(tmp_path_factory, one_thread):
    folder = tmp_path_factory.mktemp("max_gap")
    csv = _write(folder / "train.csv", 80, {20, 21})  # 2024-01-21 and 22 missing: a gap of 2
    out = folder / "run"
    assert main(["train", "forecast", "--data", csv, "--column", "sales", "--fill", "linear", "--max-gap", "2",
                 "--epochs", "1", "--hidden", "4", "--out", str(out)]) == 0
    return out, csv


def test_training_refuses_a_longer_gap_and_keeps_its_limit(gap_run, tmp_path, capsys):
    run, csv = gap_run
    assert from_checkpoint(load_checkpoint(run, "best"))[2].series.max_gap == 2
    train = ["train", "forecast", "--data", csv, "--column", "sales", "--epochs", "1"]
    code, printed = _run(capsys, *train, "--fill", "linear", "--max-gap", 1, "--out", tmp_path / "one")
    assert code == 2 and printed.err.count("\n") == 1 and not (tmp_path / "one").exists()
    assert (f"CSV file {csv!r}, column 'sales': its gap of 2 missing values (2024-01-21..2024-01-22) is longer than "
            "--max-gap 1 allows: raise --max-gap to 2 or more to fill it, or clean the file") in printed.err
    for extra, message in ((["--max-gap", 2], "--max-gap 2 limits the gaps that --fill fills: give --fill linear or "
                                              "--fill ffill too"),
                           (["--fill", "ffill", "--max-gap", 0], "--max-gap must be a positive number of steps")):
        code, printed = _run(capsys, *train, *extra, "--out", tmp_path / "bad")
        assert code == 2 and printed.err.count("\n") == 1 and message in printed.err, printed.err
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 1, "--max-gap", 3)
    assert code == 2 and printed.err.count("\n") == 1
    assert "--max-gap 3 limits the gaps --fill fills in --data FILE.csv: give --data too" in printed.err


def test_forecast_data_takes_the_runs_limit_unless_told(gap_run, tmp_path, capsys):
    run, _ = gap_run
    newer = _write(tmp_path / "newer.csv", 30, {10, 11, 12}, first=100)  # 2024-04-20..22 missing: a gap of 3
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 2, "--data", newer)
    assert code == 2 and printed.out == "" and printed.err.count("\n") == 1
    assert ("its gap of 3 missing values (2024-04-20..2024-04-22) is longer than --max-gap 2 (the run's) allows: "
            "raise --max-gap to 3 or more") in printed.err
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 2, "--data", newer, "--max-gap", 3,
                         "--json")
    assert code == 0 and json.loads(printed.out)["date"] == ["2024-05-10", "2024-05-11"]
    code, lifted = _run(capsys, "forecast", "--checkpoint", run, "--steps", 2, "--data", newer, "--max-gap", "none",
                        "--json")  # no limit, as `train forecast --max-gap none`
    assert code == 0 and lifted.out == printed.out
    with pytest.raises(SystemExit) as stop:  # (argparse's usage error)
        main(["forecast", "--checkpoint", str(run), "--steps", "2", "--data", newer, "--max-gap", "two"])
    assert stop.value.code == 2 and "expected a whole number of steps or none, got 'two'" in capsys.readouterr().err
    # --fill given: the run's limit still holds (say --max-gap to change it); --fill none refuses any gap
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 2, "--data", newer, "--fill", "ffill")
    assert code == 2 and "longer than --max-gap 2 (the run's) allows" in printed.err
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 2, "--data", newer, "--fill", "none")
    assert code == 2 and "a gap (3 missing values)" in printed.err and "max-gap" not in printed.err
    # several gaps too long: the first is named, the advice fills the longest, so one retry reads the file
    two = _write(tmp_path / "two.csv", 30, {5, 6, 7, 15, 16, 17, 18}, first=100)  # gaps of 3 and 4 days
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 2, "--data", two)
    assert code == 2 and printed.out == "" and printed.err.count("\n") == 1
    assert ("its gap of 3 missing values (2024-04-15..2024-04-17) (the first of 2 such gaps) is longer than --max-gap "
            "2 (the run's) allows: raise --max-gap to 4 or more (the longest of 2 such gaps, at 2024-04-25..2024-04-28) "
            "to fill them, or clean the file") in printed.err
    code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 2, "--data", two, "--max-gap", 4)
    assert code == 0 and printed.out.splitlines()[0].startswith("2024-05-10\t")


def test_a_run_from_before_max_gap_loads_and_fills_without_a_limit(gap_run, tmp_path, capsys):
    run, _ = gap_run
    best = load_checkpoint(run, "best")
    config = dict(best.meta["config"], series={k: v for k, v in best.meta["config"]["series"].items()
                                               if k != "max_gap"})
    save_checkpoint(tmp_path / "best.safetensors", model=best.model, meta=dict(best.meta, config=config),
                    extra=best.extra)
    old = tmp_path / "best.safetensors"
    assert from_checkpoint(load_checkpoint(old))[2].series.max_gap is None
    newer = _write(tmp_path / "newer.csv", 30, {10, 11, 12}, first=100)
    code, printed = _run(capsys, "forecast", "--checkpoint", old, "--steps", 2, "--data", newer)
    assert code == 0 and printed.out.splitlines()[0].startswith("2024-05-10\t")
    assert "filled 3 missing values" in printed.err

"""`seqlab train forecast --data FILE.tsv`: a tab-separated file is read as its comma-separated twin
(the review of users' own files: forecasting refused the .tsv export that `train classify` reads)."""

import datetime
import json

import numpy as np

from seqlab.cli import main


def _twins(folder):
    rng = np.random.default_rng(1)
    values = np.round(10 + 2 * np.sin(np.arange(100) / 3) + rng.normal(size=100), 3)
    rows = [(str(datetime.date(2024, 1, 1) + datetime.timedelta(days=i)), str(v)) for i, v in enumerate(values)]
    for name, sep in (("s.tsv", "\t"), ("s.csv", ",")):
        (folder / name).write_text(f"date{sep}sales\n" + "".join(sep.join(r) + "\n" for r in rows))
    return folder / "s.tsv", folder / "s.csv"


def test_a_tsv_file_trains_as_its_csv_twin(tmp_path, one_thread, capsys):
    tsv, csv = _twins(tmp_path)
    reports = []
    for f in (tsv, csv):
        out = tmp_path / f"run_{f.suffix[1:]}"
        assert main(["train", "forecast", "--data", str(f), "--epochs", "1", "--hidden", "4", "--seed", "3",
                     "--out", str(out)]) == 0
        reports.append(json.loads((out / "report.json").read_text()))
    printed = capsys.readouterr().out
    assert "column 'sales': the file's only value column" in printed and "one every 1 day" in printed
    keys = ("one_step_mse", "multistep_mse", "one_step_naive_mse", "heldout_from", "heldout_from_date")
    assert [reports[0][k] for k in keys] == [reports[1][k] for k in keys]
    # the naive forecast's MSE over the held-out targets, by numpy from the tab-separated file itself
    x = np.loadtxt(tsv, delimiter="\t", skiprows=1, usecols=1).astype(np.float32).astype(np.float64)
    start = reports[0]["heldout_from"]
    assert reports[0]["one_step_naive_mse"] == np.mean((x[start:] - x[start - 1:-1]) ** 2)

"""Forecasting on short series: the k-step report keeps the horizons that fit, and the default
split is clamped into the valid range instead of blaming an --n-train the user never gave."""

import json
import math

import pytest
import torch

from seqlab import SeqlabError
from seqlab.config import replace
from seqlab.training.forecast import ForecastConfig, Series, fitting_k_steps, load_series, report, train_forecaster


def _csv(path, values):
    path.write_text("v\n" + "".join(f"{v:.3f}\n" for v in values))
    return str(path)


class Last(torch.nn.Module):  # repeats the last value of its window
    def forward(self, x):
        return x[:, -1:]


def test_a_short_series_reports_the_k_steps_that_fit(tmp_path):
    # 40 values, tau = 4: k = 64 has no target at all (it needs tau + k = 68 values); the report
    # (and its k-step plot) keep k = 1, 4, 16 and say why 64 is left out, rather than failing after training
    lines = []
    cfg = replace(ForecastConfig(), data=_csv(tmp_path / "s40.csv", [math.sin(i / 3) for i in range(40)]),
                  column="v", epochs=1, out=str(tmp_path / "run"))
    result = train_forecaster(cfg, log=lines.append)
    assert list(result["k_step"]) == ["1", "4", "16"] and list(result["k_step_left_out"]) == ["64"]
    assert "68 values, the series has 40" in result["k_step_left_out"]["64"]
    assert any(line.startswith("the k-step report leaves out k = 64") for line in lines)
    assert json.loads((tmp_path / "run" / "report.json").read_text())["k_step_left_out"] == result["k_step_left_out"]
    assert (tmp_path / "run" / "k_step.png").read_bytes()[:4] == b"\x89PNG"
    assert result["one_step_mse"] == result["k_step"]["1"]["mse"]


def test_report_on_a_short_series_and_a_given_k_that_does_not_fit():
    s = Series(torch.arange(8.0), tau=4, n_train=2)  # 8 values: k = 1 .. 4 fit
    assert fitting_k_steps(s) == ([1, 4], {"16": "a 16-step prediction needs tau + k = 20 values, the series has 8",
                                           "64": "a 64-step prediction needs tau + k = 68 values, the series has 8"})
    r = report(Last(), s)
    # held out from position 6: the 1-step predictions of x_6, x_7 are x_5, x_6; k = 4 has one
    # target, x_7, from x_0 .. x_3 and three of its own outputs: x_3
    assert r["k_step"] == {"1": {"mse": 1.0, "tokens": 2}, "4": {"mse": 16.0, "tokens": 1}}
    assert list(r["k_step_left_out"]) == ["16", "64"] and r["one_step_mse"] == 1.0
    assert report(Last(), s, steps=[2])["k_step_left_out"] == {}
    with pytest.raises(SeqlabError, match="k = 5 is too large for a series of 8 values with tau = 4: k can be at "
                                          "most T - tau = 4"):
        report(Last(), s, steps=[1, 5])  # a k asked for explicitly is not dropped silently


def test_the_book_sine_keeps_every_k_and_its_split():
    series = load_series(ForecastConfig().series)  # the book's 1000-value sine, tau = 4
    assert series.n_train == 600 and fitting_k_steps(series) == ([1, 4, 16, 64], {})
    assert report(Last(), series)["k_step_left_out"] == {}


@pytest.mark.parametrize("length, n_train", [(8, 1), (6, 1), (9, 1), (12, 3), (100, 56)])
def test_the_default_split_of_a_short_csv_is_clamped_not_refused(tmp_path, length, n_train):
    # the default is 60% of the values minus tau: int(0.6 * 8) - 4 = 0 rows, int(0.6 * 6) - 4 = -1;
    # the user set no --n-train, so it is clamped to 1 rather than refused
    cfg = replace(ForecastConfig(), data=_csv(tmp_path / "s.csv", range(length)), column="v")
    assert load_series(cfg.series).n_train == n_train


@pytest.mark.parametrize("length, changes, message", [
    (8, dict(n_train=0), "training rows must be between 1 and 3 to leave a held-out part, got --n-train 0"),
    (8, dict(n_train=4), "got --n-train 4"),
    (5, {}, "has 5 values, too short for tau = 4 lags: it needs at least tau + 2 = 6 (one training row and one "
            "held out); use a longer series (more rows in the CSV) or fewer lags (--tau)"),
])
def test_short_csv_messages(tmp_path, length, changes, message):
    cfg = replace(ForecastConfig(), data=_csv(tmp_path / "s.csv", range(length)), column="v", **changes)
    with pytest.raises(SeqlabError) as e:
        load_series(cfg.series)
    assert message in str(e.value)

"""`seqlab forecast --interval P` at long horizons (limited to H, bounds monotone in h), with a
biased model (the interval shifted, said on stderr), on a plot (a band), and in --help.
(The quantiles themselves and the h = 1 width: tests/cli/test_forecast_new_data.py.)"""

import dataclasses
import datetime
import json
import math
import random
import re

import numpy as np
import pytest

from seqlab.cli import main
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.forecast import from_checkpoint


def _forecast(capsys, *argv):
    capsys.readouterr()
    code = main(["forecast", *map(str, argv)])
    return code, capsys.readouterr()


@pytest.fixture(scope="module")
def book_run(tmp_path_factory, one_thread):
    """The book's sine as the book splits it: 1000 values, tau 4, held out from 604 (396 values)."""
    out = tmp_path_factory.mktemp("book") / "run"
    assert main(["train", "forecast", "--epochs", "3", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def long_run(long_sine_run):
    return long_sine_run  # (tests/cli/conftest.py: trained once for both files)


@pytest.fixture(scope="module")
def trend_run(tmp_path_factory, one_thread):
    """A daily series that rises through its held-out part: the model, trained on its first 60%,
    under-predicts there, so its held-out errors are biased (median well above 0)."""
    folder = tmp_path_factory.mktemp("trend")
    rng, day0 = random.Random(0), datetime.date(2024, 1, 1)
    csv = folder / "trend.csv"
    csv.write_text("date,sales\n" + "".join(f"{day0 + datetime.timedelta(days=i)},"
                                            f"{0.1 * i + math.sin(i / 5) + rng.gauss(0, 0.3):.4f}\n"
                                            for i in range(200)))
    out = folder / "run"
    assert main(["train", "forecast", "--data", str(csv), "--column", "sales", "--epochs", "3", "--out",
                 str(out)]) == 0
    return out


def test_long_horizons_are_refused_past_H(book_run, capsys):
    # 396 held-out values: horizon h has 397 - h errors, from origins up to T - h; an interval needs
    # them from at least max(20, 198) origins, so H = 396 - 198 + 1 = 199. (Before, --steps 400 used
    # the 377-step errors past h = 377: twenty overlapping paths, 0.00 coverage on fresh draws.)
    for steps in (400, 200):
        code, printed = _forecast(capsys, "--checkpoint", book_run, "--steps", steps, "--interval", 0.9)
        assert code == 2 and printed.out == "" and printed.err.count("\n") == 1
        assert "held-out part (396 values) gives intervals up to 199 steps ahead" in printed.err
        assert "use --steps 199 or fewer with --interval, or hold out more" in printed.err
    code, printed = _forecast(capsys, "--checkpoint", book_run, "--steps", 199, "--interval", 0.9, "--json")
    assert code == 0
    result = json.loads(printed.out)
    lower, preds, upper = (np.array(result[k]) for k in ("lower", "predictions", "upper"))
    # monotone: the offsets never narrow as h grows
    assert (np.diff(lower - preds) <= 1e-9).all() and (np.diff(upper - preds) >= -1e-9).all()
    assert (upper - lower)[-1] > 2 * (upper - lower)[0]
    # without --interval any --steps goes
    assert _forecast(capsys, "--checkpoint", book_run, "--steps", 400)[0] == 0


def test_bounds_are_the_running_widest_of_the_raw_quantiles(book_run):
    from seqlab.training.forecast_interval import heldout_errors, interval_offsets

    net, series, _ = from_checkpoint(load_checkpoint(book_run, "best"))
    band = interval_offsets(net, series, 199, 0.8)
    errors = heldout_errors(net, series, 199)
    raw = np.array([np.quantile(e.numpy(), [0.1, 0.5, 0.9]) for e in errors])  # (199, 3)
    assert band.samples == [397 - h for h in range(1, 200)]
    assert band.lower.numpy() == pytest.approx(np.minimum.accumulate(raw[:, 0]))
    assert band.upper.numpy() == pytest.approx(np.maximum.accumulate(raw[:, 2]))
    assert band.median.numpy() == pytest.approx(raw[:, 1])


def test_coverage_on_a_fresh_draw_holds_up_to_H(long_run):
    # every origin of a fresh noise draw of the same sine, all horizons up to H = 501: each band of
    # horizons is covered about 0.9 of the time (0.88-0.94 over ten draws; before, past the allowed
    # horizons of a shorter held-out part, it fell to 0.40 and 0.00)
    from seqlab.data.timeseries import sine_series
    from seqlab.training.forecast_interval import heldout_errors, interval_offsets, max_interval_steps

    net, series, _ = from_checkpoint(load_checkpoint(long_run, "best"))
    top = max_interval_steps(len(series.x) - series.first_heldout)
    assert top == 501
    band = interval_offsets(net, series, top, 0.9)
    _, fresh = sine_series(3000, noise=0.2, seed=7)
    errors = heldout_errors(net, dataclasses.replace(series, x=fresh, n_train=0), top)
    inside = [((e >= band.lower[h]) & (e <= band.upper[h])).double().mean().item() for h, e in enumerate(errors)]
    for lo, hi in ((1, 16), (17, 64), (65, 128), (129, 256), (257, 501)):
        assert 0.85 < np.mean(inside[lo - 1:hi]) < 0.97, (lo, hi)


def test_a_biased_model_is_said_to_print_predictions_outside_their_interval(trend_run, long_run, capsys):
    from seqlab.training.forecast_interval import interval_offsets

    code, printed = _forecast(capsys, "--checkpoint", trend_run, "--steps", 10, "--interval", 0.9, "--json")
    assert code == 0
    result = json.loads(printed.out)
    lower, preds, upper = (np.array(result[k]) for k in ("lower", "predictions", "upper"))
    outside = ((preds < lower) | (preds > upper)).nonzero()[0]
    assert len(outside) > 0  # the empirical quantile interval, kept: shifted by the bias
    net, series, _ = from_checkpoint(load_checkpoint(trend_run, "best"))
    median = interval_offsets(net, series, 10, 0.9).median[outside[0]].item()
    said = [line for line in printed.err.splitlines() if "biased" in line]
    assert said == [f"seqlab: note: the model's held-out h-step errors are biased (median {median:+.3g} at "
                    f"h={outside[0] + 1}): the interval is shifted by it, and {len(outside)} of the 10 printed "
                    "predictions lie outside their own interval"]
    # an unbiased model: nothing said
    code, printed = _forecast(capsys, "--checkpoint", long_run, "--steps", 16, "--interval", 0.9)
    assert code == 0 and "biased" not in printed.err


def test_plot_draws_the_interval_as_a_band(book_run, tmp_path, capsys, monkeypatch):
    from matplotlib.axes import Axes

    drawn = []
    fill_between = Axes.fill_between

    def recording(self, x, y1, y2=0, **kwargs):
        drawn.append((np.asarray(x), np.asarray(y1), np.asarray(y2), kwargs.get("label")))
        return fill_between(self, x, y1, y2, **kwargs)

    monkeypatch.setattr(Axes, "fill_between", recording)
    png = tmp_path / "f.png"
    code, printed = _forecast(capsys, "--checkpoint", book_run, "--steps", 20, "--interval", 0.8, "--plot", png,
                              "--json")
    assert code == 0 and png.stat().st_size > 0
    result = json.loads(printed.out)
    assert len(drawn) == 1
    x, y1, y2, label = drawn[0]
    assert label == "0.8 interval" and x.tolist() == result["time"]
    assert y1 == pytest.approx(result["lower"]) and y2 == pytest.approx(result["upper"])
    assert _forecast(capsys, "--checkpoint", book_run, "--steps", 20, "--plot", png)[0] == 0
    assert len(drawn) == 1  # no band without --interval


def test_help_says_where_the_errors_come_from(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["forecast", "--help"])
    assert stop.value.code == 0
    text = re.sub(r"\s+", " ", capsys.readouterr().out)
    interval = text[text.index("--interval P also"):text.index("--plot FILE.png also")]
    for said in ("origins up to T-h", "h <= H = n_heldout - max(20, n_heldout/2) + 1", "refused, naming H",
                 "never narrow as h grows", "bias", "can leave out the prediction itself", "leans narrow"):
        assert said in interval, said
    assert "--date-column NAME" in text and "shaded band" in text

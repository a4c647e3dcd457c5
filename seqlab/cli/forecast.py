"""`seqlab train forecast`, `seqlab forecast`, and `seqlab evaluate` for forecast checkpoints."""

from __future__ import annotations

import argparse

from seqlab.fileio import to_json

# the report's baseline figures that the final JSON line and `evaluate` print too
BASELINE_KEYS = ("one_step_naive_mse", "k_step_naive_mse", "multistep_naive_mse", "season",
                 "one_step_seasonal_naive_mse", "k_step_seasonal_naive_mse", "multistep_seasonal_naive_mse")


def register(commands, train) -> None:
    """Add this task's sub-commands to `seqlab` and `seqlab train`."""
    from seqlab.cli import add_no_progress
    from seqlab.config import add_config_args, user_path
    from seqlab.data.fill import FILLS
    from seqlab.training.forecast import ForecastConfig
    from seqlab.training.forecast_interval import MIN_ERRORS
    from seqlab.training.forecast_new_data import FAR_STD

    p = train.add_parser("forecast", help="autoregressive forecasting of a univariate series",
                         description="Train a forecaster (the book's MLP, or a GRU/LSTM) on tau-lag windows "
                                     "of the book's noisy sine, or of a CSV column (--data FILE.csv, or a "
                                     "tab-separated FILE.tsv [--column NAME]: without it, the file's only column "
                                     "besides its dates; dated by --date-column, a column named "
                                     "date/time/timestamp/datetime, or pandas' unnamed index; business days "
                                     "(weekdays only) as pandas' freq 'B'; --fill linear|ffill fills its missing "
                                     "dates and empty cells, "
                                     "and the held-out MSEs leave the filled values out). "
                                     "Writes metrics.jsonl, best/last checkpoints, report.json (held-out "
                                     "one-step, multi-step and k-step MSEs, each beside the naive and, with "
                                     "--season M, the seasonal-naive forecast's) and the book's plots. "
                                     "best is the epoch of lowest held-out one-step MSE: the held-out figures "
                                     "also chose it.")
    add_config_args(p, ForecastConfig, docs={"device": "auto trains on the CPU even where there is a "
                                                       "GPU, unlike the other tasks' auto: the book's forecaster "
                                                       "(~60 parameters, batches of 16 rows) is too small for a GPU "
                                                       "to be worth its per-step overhead; cpu, cuda or cuda:N: on "
                                                       "that device (cuda: e.g. for a wide or deep gru/lstm on a "
                                                       "long series; refused where there is no GPU)"})
    # accepted as every train command accepts it: one script can pass it to all of them
    add_no_progress(p, ": forecast draws none anyway")
    p.set_defaults(func=run_train)

    f = commands.add_parser("forecast", help="predict K steps ahead with a forecast checkpoint",
                            description="Predict K values on the model's own outputs, after the end of the "
                                        "series (default) or from position --start (0-based) inside it; "
                                        "prints one 'time prediction [lower upper] [actual]' line each (time: "
                                        "the book's, position + 1; the date instead, ISO 8601, when the series "
                                        "has dates; actual 'filled' where --fill filled the value in: it is not "
                                        "scored). The series is the run's own, or with --data a newer CSV "
                                        "file read the run's way.")
    f.add_argument("--checkpoint", required=True, type=user_path, metavar="DIR",
                   help="a run's --out folder or a .safetensors file")
    f.add_argument("--which", choices=("best", "last"), default=None,
                   help="best: the epoch of lowest held-out one-step MSE (default); last: the final epoch (with a "
                        "run folder; a .safetensors file given to --checkpoint is itself the choice)")
    f.add_argument("--steps", type=int, required=True, metavar="K",
                   help="how many steps to predict (refused, before any work, past what this machine's memory "
                        f"holds at {BYTES_PER_STEP} bytes a step)")
    f.add_argument("--start", type=int, default=None,
                   help="0-based position of the first predicted value (default: the end of the series; with "
                        "--data, a position in that file, counting from its first row: with --fill, the dates it "
                        "fills in count, and so do the empty rows it drops before the first value, though no "
                        "prediction can start there)")
    f.add_argument("--data", type=user_path, metavar="FILE.csv",
                   help="forecast after the end of this CSV file (e.g. this week's export; a .tsv file: "
                        "tab-separated) instead of the run's series, without retraining: its column is read as "
                        "the run's CSV was (the same reader and checks) and scaled with the run's TRAINING mean "
                        "and std (never re-fitted on this file). When the run had dates, the file's dates are "
                        "read strictly from the run's date "
                        "column (--date-column names another): a date that is not ISO 8601, a gap (unless --fill "
                        "fills it) or uneven spacing is refused naming its line, and so is a file spaced otherwise "
                        "than the run (daily for a monthly run, calendar days for a business-day run); they "
                        "continue from the file's own last date (on business days, a Friday's next is Monday). A "
                        "run without dates (the book's sine, or a CSV without a date column) reads the file's rows "
                        "as steps. "
                        f"A file whose last tau values lie over {FAR_STD:g} training std from the run's training "
                        "mean is forecast with a warning (an extrapolation)")
    f.add_argument("--column", metavar="NAME",
                   help="with --data: the column to forecast (default: the run's column; required for a run on "
                        "the book's sine, whose checkpoint names none). A file whose first line is all numbers has "
                        "no header row: its columns are 1, 2, ... by position, its one column 'value' (but 0,1,...,n-1, "
                        "pandas' labels of an unnamed frame, is a header; a lone 0, or a name that is both a cell "
                        "of that line and a position, is refused as ambiguous)")
    f.add_argument("--date-column", metavar="NAME",
                   help="with --data, for a run that had dates: the file's date column (default: the run's date "
                        "column), read as training reads --date-column NAME (ISO 8601, strictly increasing, evenly "
                        "spaced, else refused naming the line); none: read the rows as evenly spaced steps without "
                        "dates (the times printed are then positions in the file)")
    f.add_argument("--fill", choices=FILLS,
                   help="with --data: fill the file's missing dates and empty/NaN cells (default: the run's "
                        "--fill, as training read its CSV): none refuses them naming the line; linear interpolates "
                        "each between its neighbours (by position: equal steps); ffill carries the last value "
                        "forward. Empty rows before the first value are dropped, empty cells after the last are "
                        "refused (the forecast would start from invented values); what was filled is said on "
                        "stderr, and --start counts positions in the file as filled (see --start). Filled values "
                        "are printed as actual 'filled' and left out of the MSE. A run with dates fills the file "
                        "on the run's step: on business days (daily dates on weekdays only, as pandas' freq 'B') a "
                        "missing weekday (a holiday) is filled, never a weekend; on calendar days a file of weekdays "
                        "only has its weekends filled")
    f.add_argument("--max-gap", type=_count_or_none, metavar="N",
                   help="with --data and a fill: refuse a run of more than N missing values in a row (missing dates "
                        "and empty cells together), naming it, instead of filling it (default: the run's --max-gap, "
                        "if it had one: else no limit; none: no limit)")
    f.add_argument("--interval", type=float, metavar="P",
                   help="also print a P prediction interval (e.g. 0.9) beside each prediction: 'lower upper' are "
                        "the prediction plus the (1-P)/2 and (1+P)/2 empirical quantiles of the model's h-step "
                        "errors on the run's held-out part (its own outputs from every origin there; no "
                        "retraining), for each horizon h. Horizon h's errors come only from the held-out part's "
                        "origins up to T-h, so long horizons are limited: h <= H = n_heldout - max("
                        f"{MIN_ERRORS}, n_heldout/2) + 1 (errors from at least half the held-out part's origins); "
                        "more --steps are refused, naming H. The bounds never narrow as h grows (each is widened "
                        "to the previous horizon's). The quantiles keep the model's bias: when its held-out errors "
                        "are off-centre the interval is shifted by it and can leave out the prediction itself "
                        "(said on stderr, with how many). It assumes those errors are representative of the future "
                        "(the same noise, no drift); the held-out part also chose best's epoch, so it leans narrow "
                        "(at 0.9, on fresh draws of a noisy sine: 0.87-0.90 coverage at h = 1..16, 0.88-0.93 out "
                        f"to H). A held-out part with fewer than {MIN_ERRORS} values is refused")
    f.add_argument("--plot", type=user_path, metavar="FILE.png",
                   help="also plot the series and the predictions here (with --interval, the interval as a shaded "
                        "band)")
    f.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    f.set_defaults(func=run_forecast)


def _count_or_none(text: str) -> int | str:
    """forecast --max-gap: a count, or "none" (no limit: lifts the run's)."""
    if text.strip().lower() in ("none", "null"):
        return "none"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of steps or none, got {text!r}") from None


def run_train(args: argparse.Namespace) -> int:
    from seqlab.cli import check_out, show_progress, train_config
    from seqlab.errors import SeqlabError
    from seqlab.training import distributed
    from seqlab.training.forecast import ForecastConfig, forecast_device, train_forecaster

    show_progress(args)  # (no bar to turn off; out of the config all the same)
    cfg, notes, _ = train_config(ForecastConfig, args)
    if cfg.series.fill != "none" and cfg.series.data is None:
        raise SeqlabError(f"--fill {cfg.series.fill} fills a CSV series' missing values: give --data FILE.csv (the "
                          "book's sine has none)")
    check_out(cfg.run.out)
    device = forecast_device(cfg.run.device)  # (auto: the CPU; cuda without a GPU is refused here)
    with distributed.session():  # under torchrun: a dead rank gives a message, not a hang
        result = train_forecaster(cfg, device=device, notes=notes)
    if not distributed.is_main_process():
        return 0
    floor, m = result["noise_floor"], result["season"]
    seasonal = result["k_step_seasonal_naive_mse"] or {}
    last = (f"; epoch {result['last_epoch']} (last): one-step MSE {result['last_epoch_one_step_mse']:.4f}"
            if result["last_epoch"] != result["epoch"] else "")
    print(f"figures of epoch {result['epoch']} (best.safetensors), the epoch of lowest held-out one-step MSE: the "
          f"held-out part also chose it, so they lean optimistic{last}")
    for k, v in result["k_step"].items():
        ratio = f" ({v['mse'] / floor:.3f} x noise floor {floor:g})" if floor else ""
        print(f"{k}-step MSE on the held-out part: {v['mse']:.4f}{ratio}; "
              f"{_baselines(result['k_step_naive_mse'][k], m, seasonal.get(k))}")
    on = f" ({result['heldout_from_date']})" if result["heldout_from_date"] else ""
    print(f"multi-step MSE from t = {result['heldout_from_time']}{on}: {result['multistep_mse']:.4f}; "
          f"{_baselines(result['multistep_naive_mse'], m, result['multistep_seasonal_naive_mse'])}")
    print(f"plots: {', '.join(result['plots'])}")
    print(to_json({"one_step_mse": result["one_step_mse"], "multistep_mse": result["multistep_mse"],
                   "k_step_mse": {k: v["mse"] for k, v in result["k_step"].items()}, "noise_floor": floor,
                   "epoch": result["epoch"], "selected_on": result["selected_on"],
                   "last_epoch_one_step_mse": result["last_epoch_one_step_mse"],
                   **{key: result[key] for key in BASELINE_KEYS}}))
    return 0


def _baselines(naive: float, season: int | None, seasonal: float | None) -> str:
    """'naive (last value): 722.1, seasonal naive (7): 127.0' for a printed line."""
    said = f"naive (last value): {naive:.4f}"
    if season is not None:
        said += f", seasonal naive ({season}): " + (f"{seasonal:.4f}" if seasonal is not None else "n/a")
    return said


def evaluate(args: argparse.Namespace, ckpt) -> dict:
    """Held-out one-step MSE (`mse`), with the k-step and multi-step ones alongside (the horizons
    that fit the series; `k_step_left_out` says why any other was left out), the naive and
    seasonal-naive baselines' on the same targets, and `selected_on`: "heldout" for best (the
    held-out one-step MSE chose that epoch), None for last."""
    from pathlib import Path

    from seqlab.errors import SeqlabError
    from seqlab.training.forecast import from_checkpoint, report

    if args.split is not None:  # refused, not mapped: "valid" or "test" would both be the same values
        raise SeqlabError(f"a forecast run has no valid or test split, so --split {args.split} does not apply: it "
                          "is evaluated on the held-out part after its training window; leave --split out")
    net, series, _ = from_checkpoint(ckpt, args.device)  # (--device auto: the CPU, as training's)
    result = report(net, series)
    return {"mse": result["one_step_mse"], "tokens": result["k_step"]["1"]["tokens"],
            "split": "heldout (after the training window)", "k_step_mse": {k: v["mse"] for k, v in
                                                                          result["k_step"].items()},
            "k_step_left_out": result["k_step_left_out"], "multistep_mse": result["multistep_mse"],
            "noise_floor": result["noise_floor"], "epoch": ckpt.meta.get("epoch"),
            "selected_on": "heldout" if Path(ckpt.path).name == "best.safetensors" else None,
            "naive_mse": result["one_step_naive_mse"], "seasonal_naive_mse": result["one_step_seasonal_naive_mse"],
            **{key: result[key] for key in BASELINE_KEYS if not key.startswith("one_step")},
            "seasonal_naive_left_out": result["seasonal_naive_left_out"]}


# What a forecast holds for each step at the least: the prediction as float32 (4 bytes), then as a Python
# float in a list (24 + 8), and its time as a Python int in a list (28 + 8). (Measured: ~86 bytes a step
# printed as lines, ~160 with --json.)
BYTES_PER_STEP = 72


def _check_steps_fit(steps: int) -> None:
    """Refuse a --steps whose predictions could not fit in this machine's memory, before any work: one
    step takes ~30 us, so --steps 10**9 (4 GB of float32, which torch allocates) ran for hours before its
    lists ran out of memory. The bound is low on purpose: a --steps it refuses would not fit."""
    from seqlab.training.common import refuse_past_memory

    refuse_past_memory(steps * BYTES_PER_STEP, f"--steps {steps:,}",
                       f"for its predictions alone (at least {BYTES_PER_STEP} bytes a step)", "ask for fewer steps")


def run_forecast(args: argparse.Namespace) -> int:
    import sys

    import torch

    from seqlab.data.fill import forecast_lines
    from seqlab.errors import SeqlabError
    from seqlab.plotting import check_plot_path
    from seqlab.cli import checkpoint_which
    from seqlab.training.checkpoint import expect_task, load_checkpoint
    from seqlab.training.forecast import from_checkpoint, multistep
    from seqlab.training.forecast_eval import mean_squared_error, observed_mask
    from seqlab.training.forecast_interval import interval_offsets
    from seqlab.training.forecast_new_data import far_from_training, fill_said, new_data_series, start_position

    if args.steps <= 0:
        raise SeqlabError(f"--steps must be positive, got {args.steps}")
    _check_steps_fit(args.steps)
    for flag, value in (("--column", args.column), ("--date-column", args.date_column)):
        if value is not None and args.data is None:
            raise SeqlabError(f"{flag} names a column of --data FILE.csv: give --data too (without it the forecast "
                              "continues the run's own series)")
    if args.fill is not None and args.data is None:
        raise SeqlabError(f"--fill {args.fill} fills the missing values of --data FILE.csv: give --data too (the "
                          "run's own series was filled, if at all, when it was trained)")
    if args.max_gap is not None and args.data is None:
        raise SeqlabError(f"--max-gap {args.max_gap} limits the gaps --fill fills in --data FILE.csv: give --data too "
                          "(the run's own series was filled, if at all, when it was trained)")
    if args.plot:
        check_plot_path(args.plot)
    ckpt = load_checkpoint(args.checkpoint, checkpoint_which(args))
    expect_task(ckpt, "forecast")
    net, trained, cfg = from_checkpoint(ckpt)
    notes: list[str] = []  # said on stderr once nothing is refused (a refusal stays one line)
    series = trained if args.data is None else new_data_series(
        args.data, args.column, args.date_column, trained, cfg, args.checkpoint, lambda n: notes.append(f"note: {n}"),
        args.fill, lambda line: notes.append(line.removeprefix("seqlab: ")), args.max_gap)
    start = start_position(args.start, series)  # (--start counts the file's rows, the dropped ones too)
    preds = multistep(net, series, start, args.steps)
    observed = observed_mask(series)
    if not observed.all():
        notes += [line.removeprefix("seqlab: ") for line in
                  forecast_lines(observed.tolist(), start, series.tau, fill_said(args.fill, cfg))]
    zones = series.dates.offsets_note() if series.dates and start + args.steps > len(series.x) else None
    if zones:  # (the future is dated in the last row's offset)
        notes.append(f"note: {zones}")
    if args.data is not None:
        far = far_from_training(series, trained, start, args.data, args.column or cfg.series.column)
        if far:
            notes.append(f"warning: {far}")
    band = None
    if args.interval is not None:  # the errors are the run's, on its own held-out part, whatever --data says
        band = interval_offsets(net, trained, args.steps, args.interval)
        lower, upper = preds.double() + band.lower, preds.double() + band.upper
        outside = ((preds.double() < lower) | (preds.double() > upper)).nonzero().flatten().tolist()
        if outside:  # the quantiles keep the model's bias (forecast_interval's docstring)
            h = outside[0] + 1
            notes.append(f"note: the model's held-out h-step errors are biased (median "
                         f"{band.median[h - 1].item():+.3g} at h={h}): the interval is shifted by it, and "
                         f"{len(outside)} of the {args.steps} printed predictions lie outside their own interval")
    for note in notes:
        print(f"seqlab: {note}", file=sys.stderr)
    actual = series.x[start:start + args.steps]
    seen = observed[start:start + args.steps]  # filled values are shown, marked, but not scored
    time = list(range(series.offset + start + 1, series.offset + start + args.steps + 1))  # the book's: position + 1
    result = {"time": time, "predictions": preds.tolist()}
    dates = [series.dates.iso(p) for p in range(start, start + args.steps)] if series.dates else None
    if dates:
        result["date"] = dates
    if band is not None:
        result.update(interval=args.interval, lower=lower.tolist(), upper=upper.tolist())
    if len(actual):
        n = len(actual)
        result["mse"] = mean_squared_error(preds[:n][seen], actual[seen]) if seen.any() else None  # (float64: an outlier of 1e30)
        result["tokens"], result["filled"] = int(seen.sum()), n - int(seen.sum())
        result["actual"] = [v if ok else None for v, ok in zip(actual.tolist(), seen.tolist())]  # (null: filled)
        if band is not None:
            result["inside"] = int(((lower[:n] <= actual) & (actual <= upper[:n]))[seen].sum())
    if args.plot:
        from seqlab.plotting import plot_curves

        t_all = torch.arange(1, len(series.x) + 1).float() + series.offset
        t_pred = torch.tensor(time).float()
        bands = {f"{args.interval:g} interval": (t_pred, lower, upper)} if band is not None else None
        plot_curves(args.plot, t_all, {"data": series.x, f"{args.steps}-step forecast": preds},
                    xs={f"{args.steps}-step forecast": t_pred}, bands=bands, xlabel="time",
                    ylabel="x", title=f"forecast from t = {time[0]}{f' ({dates[0]})' if dates else ''} on its "
                                      "own outputs")
        result["plot"] = args.plot
    if args.json:
        print(to_json(result))
        return 0
    for i, (t, p) in enumerate(zip(dates or time, result["predictions"])):
        bounds = f"\t{result['lower'][i]:.6f}\t{result['upper'][i]:.6f}" if band is not None else ""
        shown = "" if i >= len(actual) else f"\t{actual[i].item():.6f}" if seen[i] else "\tfilled"
        print(f"{t}\t{p:.6f}{bounds}{shown}")
    if len(actual):
        k = result["filled"]
        unscored = f"{k} of the {len(actual)} steps {'are filled values' if k != 1 else 'is a filled value'}, " \
                   "not scored"
        if result["tokens"]:
            said = f" ({unscored})" if k else ""
            print(f"MSE over the {result['tokens']} observed values: {result['mse']:.6f}{said}")
        else:
            print(f"no observed values to score: {unscored}")
    if "inside" in result:
        print(f"inside the {args.interval:g} interval: {result['inside']} of {result['tokens']}")
    return 0

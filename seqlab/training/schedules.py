"""Learning-rate schedules and the NT-ASGD switch for recurrent LMs."""

from __future__ import annotations

import math

import torch

from seqlab.errors import SeqlabError


def warmup_cosine(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                  min_ratio: float = 0.1) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up from 0 over `warmup_steps`, then cosine decay to `min_ratio` x the
    base learning rate at `total_steps`, and `min_ratio` from there on (nanoGPT's schedule; a
    run of variable BPTT steps a little past its estimated total). Call `.step()` per batch."""
    if total_steps <= 0 or not 0 <= warmup_steps <= total_steps:
        raise SeqlabError(f"need 0 <= warmup ({warmup_steps}) <= total steps ({total_steps}) and total > 0")

    def factor(step: int) -> float:
        if step >= total_steps:  # (a warm-up as long as the run went back to the full rate at step T)
            return min_ratio
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / (total_steps - warmup_steps)  # in [0, 1): warmup <= step < total
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class NTASGDTrigger:
    """Non-monotonically triggered averaging (Merity et al. 2017): switch from SGD to
    averaged SGD once the validation loss has not beaten the best of the checks more
    than `nonmono` checks ago."""

    def __init__(self, nonmono: int = 5):
        if nonmono < 1:
            raise SeqlabError(f"nonmono must be >= 1, got {nonmono}")
        self.nonmono = nonmono
        self.history: list[float] = []
        self.triggered = False

    def update(self, valid_loss: float) -> bool:
        """Record a validation loss; True exactly once, at the check that triggers."""
        fire = (not self.triggered and len(self.history) > self.nonmono
                and valid_loss > min(self.history[:-self.nonmono]))
        self.history.append(valid_loss)
        if fire:
            self.triggered = True
        return fire

    def state_dict(self) -> dict:
        return {"nonmono": self.nonmono, "history": list(self.history), "triggered": self.triggered}

    def load_state_dict(self, state: dict) -> None:
        self.nonmono, self.history, self.triggered = state["nonmono"], list(state["history"]), state["triggered"]


def averaged_sgd(params, lr: float, weight_decay: float | None = 0.0) -> torch.optim.ASGD:
    """AWD-LSTM's ASGD: plain SGD steps with a running average of the iterates (t0=0,
    lambd=0; torch's ASGD starts the average at its second step); evaluate with the
    averaged weights (`state['ax']`, see `swap_in_average`).

    On CUDA it is `capturable`: its step counters stay on the GPU (otherwise torch reads each
    parameter's counter back to the host at every step)."""
    params = list(params)
    on_gpu = any(p.device.type == "cuda" for p in params)
    return torch.optim.ASGD(params, lr=lr, t0=0, lambd=0.0, weight_decay=weight_decay or 0.0,  # None: SGD's 0
                            capturable=on_gpu)


def scaled_step(optimizer: torch.optim.Optimizer, scale: float = 1.0) -> None:
    """One `optimizer.step()` at `scale` times each group's learning rate (variable-length BPTT
    scales a window's step by its length / bptt), the rates restored after it.

    torch's ASGD steps with a per-parameter `eta` that its *previous* step derived from the rate
    then, so each of its steps took the previous window's scale, and the first step after a decay
    (or a schedule's move) the old rate. Its eta is set here from this step's rate, by torch's
    formula `lr / (1 + lambd * lr * step) ** alpha` (= lr with averaged_sgd's lambd 0): on the
    device, no host sync.
    """
    asgd = isinstance(optimizer, torch.optim.ASGD)
    if scale == 1 and not asgd:
        optimizer.step()
        return
    lrs = [g["lr"] for g in optimizer.param_groups]
    for g in optimizer.param_groups:
        g["lr"] = lr = g["lr"] * scale
        for p in g["params"] if asgd else ():
            state = optimizer.state.get(p)
            if state and isinstance(state.get("eta"), torch.Tensor):
                if g["lambd"] == 0:
                    state["eta"].fill_(lr)
                else:
                    state["eta"].copy_(lr / (1 + g["lambd"] * lr * state["step"]) ** g["alpha"])
    optimizer.step()
    for g, lr in zip(optimizer.param_groups, lrs):
        g["lr"] = lr


def swap_in_average(optimizer: torch.optim.ASGD) -> dict:
    """Put the averaged weights into the parameters; returns what to restore with
    `restore_weights` (for evaluating an ASGD model, as AWD-LSTM does)."""
    saved = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p)
            if state and "ax" in state:
                saved[p] = p.detach().clone()
                p.data.copy_(state["ax"])
    return saved


def restore_weights(saved: dict) -> None:
    for p, value in saved.items():
        p.data.copy_(value)


def rescale_lr(optimizer: torch.optim.Optimizer, scheduler, was: float, now: float) -> str | None:
    """A resumed run given another --lr: scale its learning rate by `now / was` from here on.

    Call after loading the optimiser's and the schedule's state. The schedule keeps its
    course (a plateau decay already applied, the position on a cosine) at the new scale:
    the current rate, each group's `initial_lr` and the schedule's base rates (and floor) are all
    multiplied (and ASGD's per-parameter step size). Returns the line to log, or None when the
    rate is unchanged.
    """
    if now == was:
        return None
    scale = now / was
    before = optimizer.param_groups[0]["lr"]
    for group in optimizer.param_groups:
        group["lr"] *= scale
        if "initial_lr" in group:
            group["initial_lr"] *= scale
        for p in group["params"]:  # ASGD steps with the `eta` its previous step derived from lr (= lr: lambd 0)
            eta = optimizer.state.get(p, {}).get("eta")
            if isinstance(eta, torch.Tensor):
                eta.mul_(scale)
    if scheduler is not None:
        for name in ("base_lrs", "_last_lr", "min_lrs"):  # LambdaLR recomputes the rate from base_lrs each step
            if isinstance(getattr(scheduler, name, None), list):
                setattr(scheduler, name, [lr * scale for lr in getattr(scheduler, name)])
    return (f"--lr {now:g} instead of the run's {was:g}: the learning rate goes from {before:.4g} to "
            f"{optimizer.param_groups[0]['lr']:.4g} and keeps its schedule at the new scale")


def cosine_span_note(epochs: int, saved_epochs: int, done: int, was: float, now: float) -> str | None:
    """The line to log when a resumed cosine schedule is re-drawn over another --epochs (the rate
    jumps from `was` to `now` where the run resumes after epoch `done`), or None when it does not move."""
    if epochs == saved_epochs or math.isclose(was, now, rel_tol=1e-3):
        return None
    keep = f" (resume with --epochs {saved_epochs} to keep the schedule)" if done < saved_epochs else ""
    return (f"the cosine schedule now spans {epochs} epochs instead of {saved_epochs}: the learning rate "
            f"goes from {was:.4g} to {now:.4g} where the run resumes after epoch {done}{keep}")

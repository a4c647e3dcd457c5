"""checkpoint_resume, mutation audit 4 (the gaps audit 3 left): the settings a resume may not change
(the seed), weight_decay's unset value read as its optimiser's default, how a refusal shows none and
a model change, and load_optimizer's schedule state, --clip line and notes; on configs and torch
objects built here (no training)."""

import dataclasses
from types import SimpleNamespace

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.training.checkpoint_resume import check_resume_config, load_optimizer
from seqlab.training.lm import LMConfig

RUN = SimpleNamespace(meta={})  # a checkpoint whose metadata check_resume_config has nothing to check of


def _with(section, cfg=None, **values):
    """A copy of `cfg` (an LM's default config) with `values` in its `section`."""
    cfg = cfg or LMConfig()
    return dataclasses.replace(cfg, **{section: dataclasses.replace(getattr(cfg, section), **values)})


def _lm(**train):
    return _with("train", **train)


def _resume(saved, now, **kw):
    return check_resume_config(RUN, now, "runs/x", saved, **kw)


def test_another_seed_is_another_run_and_is_refused():
    with pytest.raises(SeqlabError, match="was trained with seed 0; now seed 1"):
        _resume(LMConfig(), _with("run", seed=1))
    later = _with("train", _with("run", seed=0, device="cpu"), epochs=20, lr=0.5)  # what a resume may change
    assert _resume(LMConfig(), later) == LMConfig()


@pytest.mark.parametrize("optimizer, run, now, same", [
    ("sgd", 0.0, None, True),      # a run from before none: sgd's default decay is 0 (torch.optim.SGD)
    ("adam", 0.0, None, True),     # torch.optim.Adam's too
    ("adamw", 0.01, None, True),   # torch.optim.AdamW's default weight_decay is 0.01
    ("adamw", None, 0.01, True),
    ("adamw", 0.0, None, False),   # none is 0.01 for adamw, not the run's 0
    ("sgd", 0.01, None, False),
])
def test_an_unset_weight_decay_is_its_optimisers_default(optimizer, run, now, same):
    saved, cfg = _lm(optimizer=optimizer, weight_decay=run), _lm(optimizer=optimizer, weight_decay=now)
    if same:
        assert _resume(saved, cfg) is saved
    else:
        with pytest.raises(SeqlabError, match="was trained with weight_decay"):
            _resume(saved, cfg)


def test_a_refusal_shows_an_unset_value_as_the_config_files_none():
    # config files and flags spell an unset value `none` (repr would say None)
    with pytest.raises(SeqlabError, match=r"was trained with max_tokens none; now max_tokens 1000\. Resume"):
        _resume(LMConfig(), _with("data", max_tokens=1000))


def test_a_model_change_is_called_a_different_model_only_when_asked():
    cfg, bigger = LMConfig(), _with("model", hidden=512)
    with pytest.raises(SeqlabError, match=r"now hidden 512 \(a different model\)\. Resume"):
        _resume(cfg, bigger, say_model=True)
    with pytest.raises(SeqlabError, match=r"now hidden 512\. Resume") as err:
        _resume(cfg, bigger)
    assert "different model" not in str(err.value)
    with pytest.raises(SeqlabError, match=r"now seed 3\. Resume"):  # a change outside the model, asked or not
        _resume(cfg, _with("run", seed=3), say_model=True)


def _stepped(steps=3):
    """An SGD optimiser and StepLR schedule of a run after `steps` epochs, as a checkpoint holds them."""
    w = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([w], lr=1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(steps):
        w.sum().backward()
        opt.step()
        sched.step()
    return SimpleNamespace(optimizer=opt.state_dict(), meta={"scheduler": sched.state_dict()}), opt, sched


def _fresh():
    w = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([w], lr=1.0)
    return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)


def test_the_schedule_goes_on_from_where_the_run_stopped():
    ckpt, run_opt, run_sched = _stepped(3)
    opt, sched = _fresh()
    load_optimizer(ckpt, opt, 1.0, 1.0, print, sched)
    assert sched.last_epoch == 3 == run_sched.last_epoch
    sched.step()  # the fourth halving: 1.0 * 0.5 ** 4
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0625)


def test_the_clip_line_is_said_only_of_a_change_and_says_what_follows():
    ckpt, *_ = _stepped(1)
    for clip, said in [((1.0, 1.0), []), (None, []),
                       ((1.0, 0.0), ["--clip 0 instead of the run's 1: gradients are not clipped from here on"]),
                       ((0.0, 2.5), ["--clip 2.5 instead of the run's 0: gradients are clipped at the new threshold "
                                     "from here on"]),
                       ((5.0, 0.5), ["--clip 0.5 instead of the run's 5: gradients are clipped at the new threshold "
                                     "from here on"])]:
        lines = []
        opt, sched = _fresh()
        load_optimizer(ckpt, opt, 1.0, 1.0, lines.append, sched, clip=clip)
        assert lines == said, clip


def test_the_kept_notes_go_to_stderr_before_anything_else(capsys):
    ckpt, *_ = _stepped(1)
    opt, sched = _fresh()
    lines = []
    load_optimizer(ckpt, opt, 1.0, 0.5, lines.append, sched, notes=["--resume keeps the run's lr 1"])
    assert capsys.readouterr().err == "seqlab: note: --resume keeps the run's lr 1\n"
    assert len(lines) == 1 and lines[0].startswith("--lr 0.5 instead of the run's 1")


# round 2: mutants of lines audit 3 left alone

def test_a_refusal_quotes_text_values():
    with pytest.raises(SeqlabError, match="was trained with cell 'lstm'; now cell 'gru'"):
        _resume(LMConfig(), _with("model", cell="gru"))


def test_a_damaged_checkpoints_error_says_it_came_from_resume(tmp_path):
    from seqlab.training.checkpoint_resume import resume_checkpoint

    (tmp_path / "last.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(SeqlabError, match=r"^--resume: .*last\.safetensors"):
        resume_checkpoint(tmp_path, "lm")


def test_a_damaged_last_set_aside_by_a_rewind_is_called_damaged(tmp_path, capsys):
    from seqlab.training.checkpoint import save_checkpoint
    from seqlab.training.checkpoint_resume import rewind_to_best

    w = torch.nn.Parameter(torch.ones(2))
    save_checkpoint(tmp_path / "best.safetensors", model={"w": w.detach()}, meta={"task": "lm", "epoch": 2},
                    optimizer=torch.optim.SGD([w], lr=0.1))
    (tmp_path / "last.safetensors").write_bytes(b"half a file")
    rewind_to_best(tmp_path)
    assert ("set aside: last.safetensors (a damaged file, moved to last.safetensors.bak)"
            in capsys.readouterr().err)
    assert (tmp_path / "last.safetensors.bak").read_bytes() == b"half a file"


def test_a_resumed_optimiser_keeps_this_commands_differentiable_setting():
    # the docstring's four: fused, foreach, capturable, differentiable are how this command steps
    w = torch.nn.Parameter(torch.ones(2))
    run = torch.optim.Adam([w], lr=0.1, differentiable=True)
    resumed = torch.optim.Adam([w], lr=0.1)
    load_optimizer(SimpleNamespace(optimizer=run.state_dict(), meta={}), resumed, 0.1, 0.1, print)
    assert resumed.param_groups[0]["differentiable"] is False


def test_a_second_rewind_onto_both_backups_names_them_in_the_plural(tmp_path):
    from seqlab.training.checkpoint import save_checkpoint
    from seqlab.training.checkpoint_resume import check_rewind

    w = torch.nn.Parameter(torch.ones(2))
    for name, epoch in (("best", 2), ("last", 3)):
        save_checkpoint(tmp_path / f"{name}.safetensors", model={"w": w.detach()},
                        meta={"task": "lm", "epoch": epoch}, optimizer=torch.optim.SGD([w], lr=0.1))
    (tmp_path / "metrics.jsonl").write_text("".join(f'{{"epoch": {e}, "train_loss": 1.0}}\n' for e in (1, 2, 3)))
    (tmp_path / "metrics.jsonl.bak").write_text('{"epoch": 9, "train_loss": 1.0}\n')  # an earlier rewind's
    (tmp_path / "last.safetensors.bak").write_bytes(b"an earlier rewind's last")
    with pytest.raises(SeqlabError, match=r"into metrics\.jsonl\.bak and last\.safetensors\.bak in .*, which already "
                                          r"hold what an earlier --resume-from best set aside: move them out"):
        check_rewind(tmp_path)
    (tmp_path / "last.safetensors.bak").unlink()
    with pytest.raises(SeqlabError, match=r"into metrics\.jsonl\.bak in .*, which already holds what .*: move it out"):
        check_rewind(tmp_path)

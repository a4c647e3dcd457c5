"""--clip is one rule in every task that has it (lm, translate, classify; forecast has none): a
threshold > 0 clips by global norm, 0 turns clipping off (pytorch/examples' word LM's convention), a
negative one is refused the same way (a new-user review: `train lm --clip 0` was refused as "clip must
be > 0" while `train classify --help` said "0: none")."""

import argparse

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqlab.cli import build_parser, main
from seqlab.models.lm import RNNModel

pytestmark = pytest.mark.usefixtures("one_thread")


def test_clip_zero_leaves_the_gradients_as_they_are_and_returns_their_norm():
    from seqlab.training.common import clip_gradients

    torch.manual_seed(0)
    ours, theirs = nn.Linear(4, 3), nn.Linear(4, 3)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(5, 4)
    for net in (ours, theirs):
        (net(x).pow(2).sum() * 100).backward()  # a gradient norm far above 1
    norm = clip_gradients(ours, 0)
    want = torch.nn.utils.clip_grad_norm_(theirs.parameters(), float("inf"))  # (computes the norm, scales nothing)
    assert norm.item() == pytest.approx(want.item(), rel=1e-6) and want.item() > 10
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(p.grad, q.grad)
    clip_gradients(ours, 1.0)  # a threshold still clips: the twin of torch's clip_grad_norm_
    torch.nn.utils.clip_grad_norm_(theirs.parameters(), 1.0)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad, q.grad)


def test_lm_train_epoch_at_clip_zero_is_the_unclipped_sgd_step():
    # the book's step, l.mean().backward(); p -= lr * grad, by hand: no clipping at all
    from seqlab.training.lm import train_epoch

    X, Y = torch.randint(0, 7, (3, 5)), torch.randint(0, 7, (3, 5))
    nets = []
    for _ in range(3):
        torch.manual_seed(0)
        nets.append(RNNModel(nn.GRU(7, 5), 7).double())
    ref, off, clipped = nets
    logits, _ = ref(X, ref.begin_state(3))
    F.cross_entropy(logits, Y.T.reshape(-1)).backward()
    with torch.no_grad():
        for p in ref.parameters():
            p -= 0.5 * p.grad
    for net, clip in ((off, 0.0), (clipped, 1e-3)):
        train_epoch(net, [(X, Y)], torch.optim.SGD(net.parameters(), lr=0.5), torch.device("cpu"), clip=clip,
                    carry_state=True)
    for p, q in zip(off.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)
    assert any(not torch.allclose(p, q) for p, q in zip(clipped.parameters(), ref.parameters()))  # 1e-3 clips


def _train(task, data, out, clip):
    base = {"lm": ["--data", str(data / "tiny.txt"), "--level", "char", "--hidden", "8", "--batch-size", "2",
                   "--num-steps", "5"],
            "translate": ["--data", str(data / "pairs.txt"), "--num-steps", "6", "--embed", "4", "--hidden", "8",
                          "--layers", "1", "--batch-size", "8", "--valid-frac", "0.25", "--test-frac", "0",
                          "--min-freq", "1", "--bleu-every", "0"],
            "classify": ["--data-dir", str(data), "--valid-size", "10", "--hidden", "4", "--layers", "1",
                         "--no-progress"]}[task]
    return main(["train", task, *base, "--epochs", "1", "--device", "cpu", "--clip", clip, "--out", str(out)])


@pytest.mark.parametrize("task", ["lm", "translate", "classify"])
def test_every_task_trains_at_clip_zero_and_refuses_a_negative_clip_alike(task, task_data, tmp_path, capsys):
    assert _train(task, task_data, tmp_path / "off", "0") == 0, capsys.readouterr().err
    assert (tmp_path / "off" / "last.safetensors").is_file()
    capsys.readouterr()
    assert _train(task, task_data, tmp_path / "neg", "-1") == 2
    assert capsys.readouterr().err == "seqlab: error: --clip must be >= 0 (0 turns clipping off), got -1.0\n"


def test_clip_help_is_the_same_in_every_task():
    commands = {a.dest: a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)}
    train = next(a for a in commands["command"].choices["train"]._actions if isinstance(a, argparse._SubParsersAction))
    helps = {task: next((a.help for a in parser._actions if "--clip" in a.option_strings), None)
             for task, parser in train.choices.items()}
    assert helps.pop("forecast") is None  # (no --clip: its step guard reads the plain gradient norm)
    assert set(helps.values()) == {"gradient clipping: the largest global gradient norm kept; 0: no clipping "
                                   "(default: 1.0)"}, helps

"""checkpoint_resume, a mutation audit's gaps: which checkpoint --resume reads and the errors that say
what to do instead, the rewind to best, the settings a resume may change, and the notes it prints;
each on small checkpoints written here."""

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.training.checkpoint import save_checkpoint
from seqlab.training.checkpoint_resume import resume_checkpoint


def _checkpoint(path, epoch, *, optimizer=True, task="lm"):
    """A small checkpoint of `epoch` (with optimiser state unless told otherwise)."""
    w = torch.nn.Parameter(torch.full((2,), float(epoch)))
    opt = torch.optim.SGD([w], lr=0.1) if optimizer else None
    save_checkpoint(path, model={"w": w.detach()}, meta={"task": task, "epoch": epoch}, optimizer=opt)


def test_resume_from_a_name_other_than_last_or_best_is_refused_by_name(tmp_path):
    _checkpoint(tmp_path / "last.safetensors", 1)
    with pytest.raises(SeqlabError, match="--resume-from middle: give last or best"):
        resume_checkpoint(tmp_path, "lm", "middle")


def test_a_folder_named_last_safetensors_is_no_checkpoint_to_resume_from(tmp_path):
    (tmp_path / "last.safetensors").mkdir()
    with pytest.raises(SeqlabError, match="there is no checkpoint in .* to resume from"):
        resume_checkpoint(tmp_path, "lm")


def test_a_checkpoint_of_another_task_is_not_resumed(tmp_path):
    _checkpoint(tmp_path / "last.safetensors", 1, task="translate")
    with pytest.raises(SeqlabError, match="holds a translation model, not a language model"):
        resume_checkpoint(tmp_path, "lm")


def test_best_alone_without_optimiser_state_says_to_train_again(tmp_path):
    # a run stopped after its first best (written by a seqlab before best held the optimiser): no
    # --resume-from best to offer, only a new run
    _checkpoint(tmp_path / "best.safetensors", 1, optimizer=False)
    with pytest.raises(SeqlabError, match="holds no optimiser state to continue from: train again with --overwrite"):
        resume_checkpoint(tmp_path, "lm")


def test_resume_from_a_best_without_optimiser_state_names_the_way_on(tmp_path):
    _checkpoint(tmp_path / "best.safetensors", 2, optimizer=False)
    with pytest.raises(SeqlabError, match="holds no optimiser state .*: train again with --overwrite"):
        resume_checkpoint(tmp_path, "lm", "best")  # no last to go on from
    _checkpoint(tmp_path / "last.safetensors", 3)
    with pytest.raises(SeqlabError, match="resume from last.safetensors with --resume instead"):
        resume_checkpoint(tmp_path, "lm", "best")


def test_best_alone_with_optimiser_state_points_to_resume_from_best(tmp_path):
    _checkpoint(tmp_path / "best.safetensors", 1)
    with pytest.raises(SeqlabError, match="continue from best with --resume-from best, or train again"):
        resume_checkpoint(tmp_path, "lm")


def _log(out, epochs):
    (out / "metrics.jsonl").write_text("".join(f'{{"epoch": {e}, "valid_loss": {1.0 / e}}}\n' for e in epochs))


def test_a_rewind_with_no_last_writes_best_as_last(tmp_path, capsys):
    # killed after its log row of epoch 3 but before writing last (best: epoch 2): nothing to move,
    # the log's row 3 set aside, and best copied to last so that a plain --resume goes on from epoch 2
    from seqlab.training.checkpoint_resume import rewind_to_best

    _checkpoint(tmp_path / "best.safetensors", 2)
    _log(tmp_path, [1, 2, 3])
    rewind_to_best(tmp_path)
    assert (tmp_path / "last.safetensors").read_bytes() == (tmp_path / "best.safetensors").read_bytes()
    assert not (tmp_path / "last.safetensors.bak").exists()
    assert (tmp_path / "metrics.jsonl.bak").read_text().count("\n") == 3
    assert "metrics.jsonl's rows of epochs 3 " in capsys.readouterr().err


def test_check_rewind_sees_a_last_past_best_even_with_no_later_log_rows(tmp_path):
    from seqlab.training.checkpoint_resume import check_rewind

    _checkpoint(tmp_path / "best.safetensors", 2)
    _checkpoint(tmp_path / "last.safetensors", 3)
    _log(tmp_path, [1, 2])
    assert check_rewind(tmp_path) is True  # last (epoch 3) is set aside
    _checkpoint(tmp_path / "last.safetensors", 2)
    assert check_rewind(tmp_path) is False


def test_kept_note_names_the_flag_that_changes_the_setting():
    from seqlab.training.checkpoint_resume import kept_note

    assert kept_note("skip_nonfinite", False, True) == ("--resume keeps the run's skip_nonfinite true, not the config "
                                                        "file's false: give --no-skip-nonfinite to change it")
    assert kept_note("skip_nonfinite", True, False).endswith("give --skip-nonfinite to change it")
    assert kept_note("lr", 0.5, 0.1) == ("--resume keeps the run's lr 0.1, not the config file's 0.5: give --lr 0.5 "
                                         "to change it")


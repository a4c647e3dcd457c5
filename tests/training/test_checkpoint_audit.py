"""Mutation audit of checkpoints: the checksum covers each tensor's shape and dtype, a newer format
or another format is refused, the optimiser's non-tensor state comes back, a boolean is no number
in the metadata, and a text file is no checkpoint however it starts."""

import pytest
import torch

from checkpoint_edit import edit_meta
from seqlab import SeqlabError
from seqlab.cli.translate import TranslateConfig
from seqlab.training.checkpoint import load_checkpoint, save_checkpoint
from seqlab.training.checkpoint_resume import check_resume_config


def _saved(tmp_path, meta=None):
    return save_checkpoint(tmp_path / "best.safetensors", model={"w": torch.arange(6.0).reshape(2, 3)},
                           meta=meta or {"task": "lm"})


@pytest.mark.parametrize("was, now", [(b'"shape":[2,3]', b'"shape":[3,2]'), (b'"dtype":"F32"', b'"dtype":"I32"')])
def test_a_tensor_read_as_another_shape_or_dtype_fails_the_checksum(tmp_path, was, now):
    path = _saved(tmp_path)
    blob = path.read_bytes()
    assert blob.count(was) == 1
    path.write_bytes(blob.replace(was, now))  # the same bytes, read as another tensor
    with pytest.raises(SeqlabError, match="fails its checksum"):
        load_checkpoint(path)


def test_the_next_format_version_and_another_format_are_refused(tmp_path):
    path = _saved(tmp_path)
    edit_meta(path, lambda meta: meta.update(format_version=2))
    with pytest.raises(SeqlabError, match="format version 2, newer than this seqlab reads"):
        load_checkpoint(path)
    edit_meta(path, lambda meta: meta.update(format_version=1, format="other-checkpoint"))
    with pytest.raises(SeqlabError, match="corrupted or truncated"):
        load_checkpoint(path)


def test_the_optimisers_non_tensor_state_comes_back(tmp_path):
    w = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.Adam([w], lr=0.1)
    w.sum().backward()
    opt.step()
    opt.state[w]["note"] = 3  # a per-parameter value that is not a tensor (an older torch's int step)
    save_checkpoint(tmp_path / "last.safetensors", model={"w": w}, meta={"task": "lm"}, optimizer=opt)
    state = load_checkpoint(tmp_path, "last").optimizer["state"][0]
    assert state["note"] == 3 and torch.equal(state["exp_avg"], opt.state[w]["exp_avg"])


def test_a_boolean_where_the_metadata_holds_a_number_is_refused(tmp_path):
    _saved(tmp_path, {"task": "translate", "epoch": True, "best_valid_loss": 1.0, "rng": {}})
    with pytest.raises(SeqlabError, match="its metadata's 'epoch' is a boolean"):
        check_resume_config(load_checkpoint(tmp_path), TranslateConfig(), tmp_path)


def test_a_text_file_with_a_brace_ninth_is_no_checkpoint(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("12345678{ not a checkpoint }\n")  # its "header length" is far past the file's end
    with pytest.raises(SeqlabError, match="is not a checkpoint"):
        load_checkpoint(notes)

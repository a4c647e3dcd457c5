"""metrics, a mutation audit's gaps: perplexity's edges and metrics.jsonl's reading and resuming,
each against a value worked out by hand."""

import math

import pytest

from seqlab.errors import SeqlabError
from seqlab.training.metrics import MetricsLog, perplexity, read_metrics


def test_perplexity_of_no_tokens_is_an_error_not_a_division_by_zero():
    with pytest.raises(SeqlabError, match="n_tokens >= 1"):
        perplexity(0.0, 0)
    assert perplexity(2 * math.log(3), 2) == pytest.approx(3.0)  # exp(ln 3): one token's worth, twice


def test_a_nan_loss_is_a_nan_perplexity_and_a_huge_one_is_inf():
    assert math.isnan(perplexity(float("nan"), 4))  # broken, not "diverged"
    assert perplexity(100.0, 1) == pytest.approx(math.exp(100.0))  # large, but a float holds it
    # exp(709.9) is past a double's range (its largest exp is exp(709.78...)): inf, not an OverflowError
    assert perplexity(709.9, 1) == math.inf
    assert perplexity(5e6, 1000) == math.inf


def test_a_new_log_replaces_an_old_file_without_reading_it(tmp_path):
    # a fresh run (no --resume) over an old log whose middle line is damaged: not read, emptied
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"epoch": 1}\nnot json\n{"epoch": 2}\n', encoding="utf-8")
    log = MetricsLog(path)
    assert log.records == [] and path.read_bytes() == b""


def test_a_resumed_log_keeps_a_record_without_an_epoch(tmp_path):
    # a record with no "epoch" counts as epoch 0: before any checkpoint's epoch, so it is kept
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"note": "start"}\n{"epoch": 1}\n{"epoch": 2}\n', encoding="utf-8")
    log = MetricsLog(path, keep_until_epoch=1)
    assert log.records == [{"note": "start"}, {"epoch": 1}] == read_metrics(path)


def test_blank_lines_are_skipped_not_read_as_damaged(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"epoch": 1}\n\n   \n{"epoch": 2}\n\n', encoding="utf-8")
    assert read_metrics(path) == [{"epoch": 1}, {"epoch": 2}]


def test_a_damaged_line_before_the_last_is_an_error_naming_its_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    for bad in ("not json", "[1, 2]", "3"):  # not JSON, or JSON but no object
        path.write_text(f'{{"epoch": 1}}\n{bad}\n{{"epoch": 2}}\n', encoding="utf-8")
        with pytest.raises(SeqlabError, match=r"line 2 is not a JSON object") as exc:
            read_metrics(path)
        assert repr(bad) in str(exc.value)  # the line itself, to find it by


def test_a_cut_last_line_is_dropped_and_the_note_names_its_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"epoch": 1}\n{"epoch": 2}\n{"epo', encoding="utf-8")
    notes = []
    assert read_metrics(path, note=notes.append) == [{"epoch": 1}, {"epoch": 2}]
    assert len(notes) == 1 and "its last line (3) is cut short" in notes[0]


def test_a_log_that_cannot_be_appended_to_is_an_error_saying_the_checkpoints_are_kept(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = MetricsLog(path)
    path.unlink()
    path.mkdir()  # (root may write anywhere: a folder in the file's place cannot be appended to)
    with pytest.raises(SeqlabError, match="cannot write .*checkpoints already written are kept"):
        log.write(epoch=1)
    assert log.records == []


def test_a_log_that_is_not_utf8_is_an_error_saying_so(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b'{"epoch": 1}\n{"note": "caf\xe9"}\n')  # Latin-1
    with pytest.raises(SeqlabError, match="is not a metrics.jsonl \\(not UTF-8 text"):
        read_metrics(path)

"""progress, mutation audit 4: the bar is erased when its loop ends unless asked to stay (the epoch's
log line follows on a clean line), and it is not redrawn faster than every half second. tqdm's clock
is frozen here, so what is drawn does not depend on how fast the machine runs the loop."""

import pytest
import tqdm.std

from seqlab.training.progress import progress


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(tqdm.std, "time", lambda: 1000.0)  # (tqdm reads its clock through this name)


def _drawn(capsys, **kw):
    assert list(progress(range(50), desc="epoch 1", enabled=True, **kw)) == list(range(50))
    return capsys.readouterr().err


def test_a_finished_bar_is_erased_unless_asked_to_stay(frozen, capsys):
    gone = _drawn(capsys)
    assert gone.startswith("\repoch 1:   0%|") and "\n" not in gone
    assert gone.split("\r")[-2].strip() == "" and gone.endswith("\r")  # its line blanked, the cursor at its start
    kept = _drawn(capsys, leave=True)
    assert kept.split("\r")[-1].startswith("epoch 1: 100%|") and kept.endswith("| 50/50 [00:00<?, ?it/s]\n")


def test_a_bar_is_not_redrawn_within_half_a_second(frozen, capsys):
    # no time passes: drawn when it starts, then only erased (a redraw every step was 50 lines of stderr)
    assert _drawn(capsys).count("%|") == 1
    assert _drawn(capsys, leave=True).count("%|") == 2  # and its last state, kept

"""The CLI shows seqlab's own `warnings.warn` warnings (a run folder it cannot lock, a fast path falling back)
as one line `seqlab: warning: TEXT`, as its other warnings, where they read
`/path/run_folder.py:87: RuntimeWarning: seqlab: cannot lock ...` and the source line under it; other
libraries' warnings and the library API outside the CLI keep Python's own display."""

import errno
import warnings

import pytest

from seqlab.cli import main

fcntl = pytest.importorskip("fcntl")  # (the run-folder lock is POSIX's flock)


def test_a_folder_that_cannot_be_locked_is_one_warning_line(tmp_path, capsys, monkeypatch):
    text = tmp_path / "tiny.txt"
    text.write_text("the time machine by h g wells\n" * 40, encoding="utf-8")
    out = tmp_path / "run"

    def no_locks(fd, op):  # NFS, say: flock refused, the run goes on unlocked with a warning
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    assert main(["train", "lm", "--data", str(text), "--level", "char", "--hidden", "8", "--epochs", "1",
                 "--batch-size", "2", "--num-steps", "5", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "lock" in line]
    assert lines == [f"seqlab: warning: cannot lock the output folder {str(out)!r} (No locks available): a second "
                     "run started on it would not be refused"], err
    assert "RuntimeWarning" not in err and "run_folder.py" not in err


def test_only_seqlab_warnings_are_reshaped_and_the_hook_is_put_back(capsys):
    from seqlab.cli.console import one_line_warnings

    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, category, *rest, **kw: seen.append((str(message), category))
        before = warnings.showwarning
        with one_line_warnings():
            warnings.warn("seqlab: no fused Adam here (x); falling back to the plain path", RuntimeWarning)
            warnings.warn("TypedStorage is deprecated", UserWarning)  # torch's, say: Python's display
        assert warnings.showwarning is before
        warnings.warn("seqlab: outside the CLI", RuntimeWarning)  # the library API: as Python shows it
    assert capsys.readouterr().err == "seqlab: warning: no fused Adam here (x); falling back to the plain path\n"
    assert seen == [("TypedStorage is deprecated", UserWarning), ("seqlab: outside the CLI", RuntimeWarning)]

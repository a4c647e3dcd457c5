"""A new user's review of training warnings: `train translate`'s and `train lm`'s went to stdout
without the `seqlab: warning:` prefix that evaluate and translate give theirs on stderr."""

import pytest

from run_review import argv as _argv, make_inputs, run as _run  # tests/reliability, on the test path

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("fx"))


def test_training_warnings_go_to_stderr_with_the_prefix(fx, tmp_path, capsys):
    # `warning: many ... words ... <unk> ...` was printed on stdout, among the progress lines
    said = _run(_argv("translate", fx, tmp_path / "nmt", "--epochs", "1", "--min-freq", "3"), capsys)
    assert "warning" not in said.out and "words read as <unk>" not in said.out
    [warning] = [line for line in said.err.splitlines() if "warning" in line]
    assert warning.startswith("seqlab: warning: many held-out words are not in the training vocabulary (train source")
    # a text classifier on words written without spaces, as `train lm` and `seqlab stats` warn
    texts = tmp_path / "zh.csv"
    lines = ["学而时习之不亦说乎", "有朋自远方来不亦乐乎", "温故而知新可以为师矣"]
    texts.write_text("label,text\n" + "".join(f"{'ab'[i % 2]},{lines[i % 3]}\n" for i in range(40)), encoding="utf-8")
    said = _run(["train", "classify", "--data", str(texts), "--level", "word", "--min-freq", "1", "--hidden", "4",
                 "--epochs", "1", "--no-progress", "--device", "cpu", "--out", str(tmp_path / "zh")], capsys)
    assert "without spaces" not in said.out
    assert said.err.startswith("seqlab: warning: this text looks written without spaces between words")

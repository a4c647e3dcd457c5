"""`seqlab generate` writes one sample as it grows (review r-infer, finding 4: nothing was printed before the
last token, and a Ctrl-C lost all of it): stdout is byte for byte what the whole-prompt loop's ids printed at
once gave (`generate_batch_ref` and word_text, the code before), the text is flushed every STREAM_EVERY
tokens, and an interrupted run prints what each sample has so far before "seqlab: interrupted"."""

import io
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import seqlab.cli.lm as lm
from seqlab.cli import main
from seqlab.cli.lm import _Text, word_text
from seqlab.data.vocab import Vocab
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.lm import model_from_checkpoint  # (bound here: the tests below patch the module's)

from reference_decode import generate_batch_ref  # tests/generation, on the test path

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(char run, word run): tiny LMs trained for two epochs; the word corpus ends every line with <eos>."""
    root = tmp_path_factory.mktemp("gen")
    (root / "c.txt").write_text("the time traveller for so it will be convenient to speak of him\n" * 12)
    (root / "w.txt").write_text("the cat sat\nthe dog ran\na bird flew over the cat\n" * 30)
    common = ["--batch-size", "2", "--num-steps", "6", "--epochs", "2", "--lr", "0.02", "--optimizer", "adam",
              "--device", "cpu", "--seed", "0", "--no-progress"]
    assert main(["train", "lm", "--data", str(root / "c.txt"), "--level", "char", "--hidden", "16",
                 "--out", str(root / "char"), *common]) == 0
    assert main(["train", "lm", "--data", str(root / "w.txt"), "--level", "word", "--embed", "8", "--hidden", "8",
                 "--out", str(root / "word"), *common]) == 0
    return root / "char", root / "word"


def _before(run, prefix_tokens, n, samples=1, **sampling):
    """What `seqlab generate` printed before it streamed: the whole-prompt loop's ids, each sample printed
    at once (characters joined; words by word_text), after a "--- sample i ---" line when there are several."""
    ckpt = load_checkpoint(run)
    net, cfg = model_from_checkpoint(ckpt, torch.device("cpu"))
    vocab = Vocab.from_dict(ckpt.meta["vocab"])
    rows = generate_batch_ref(net, [vocab[prefix_tokens]], n, num_samples=samples, **sampling)
    texts = [("".join if cfg.data.level == "char" else word_text)(vocab.to_tokens(r)) for r in rows]
    return "".join(f"--- sample {i + 1} ---\n{t}\n" if samples > 1 else f"{t}\n" for i, t in enumerate(texts))


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from(["a", "bc", "<eos>"]), max_size=12), st.lists(st.integers(0, 12), max_size=5))
def test_the_pieces_of_any_split_of_the_words_read_as_word_text_of_them_all(tokens, cuts):
    # a chunk boundary at a line break or between two words must not add or drop a space or a line break
    text, edges = _Text("word"), sorted({0, len(tokens), *[min(c, len(tokens)) for c in cuts]})
    pieces = [text.add(tokens[a:b]) for a, b in zip(edges, edges[1:])]
    assert "".join(pieces) == word_text(tokens)


class _Stdout(io.StringIO):
    """stdout that records, at each flush, how many calls the model had made and how much text was out."""

    def __init__(self, models):
        super().__init__()
        self.models, self.flushes = models, []

    def flush(self):
        self.flushes.append((len(self.models[-1].calls) if self.models else 0, len(self.getvalue())))


class _Wrapped(nn.Module):
    """The checkpoint's model, counting its calls; KeyboardInterrupt (a Ctrl-C) at call `stop`."""

    def __init__(self, net, stop=None):
        super().__init__()
        self.net, self.stop, self.calls = net, stop, []

    def begin_state(self, batch_size=1, device=None):
        return self.net.begin_state(batch_size=batch_size, device=device)

    def forward(self, X, state):
        self.calls.append(tuple(X.shape))
        if len(self.calls) == self.stop:
            raise KeyboardInterrupt
        return self.net(X, state)


def _wrap(monkeypatch, stop=None):
    import seqlab.training.lm as training_lm

    made = []
    load = training_lm.model_from_checkpoint

    def wrapped(ckpt, device):
        net, cfg = load(ckpt, device)
        made.append(_Wrapped(net, stop))
        return made[-1], cfg

    monkeypatch.setattr(training_lm, "model_from_checkpoint", wrapped)
    return made


@pytest.mark.parametrize("level", ["char", "word"])
@pytest.mark.parametrize("sampling", [[], ["--temperature", "1.0", "--seed", "3"]])
def test_one_sample_is_written_as_it_grows_and_reads_as_before(runs, monkeypatch, capsys, level, sampling):
    run = runs[0] if level == "char" else runs[1]
    prefix = "the time" if level == "char" else "the cat\nsat"  # (a line break: <eos>)
    tokens = list(prefix) if level == "char" else ["the", "cat", "<eos>", "sat"]
    monkeypatch.setattr(lm, "STREAM_EVERY", 7)
    out = _Stdout(_wrap(monkeypatch))
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["generate", "--checkpoint", str(run), "--prefix", prefix, "--num-tokens", "60", *sampling]) == 0
    seeded = dict(temperature=1.0, seed=3) if sampling else {}
    assert out.getvalue() == _before(run, tokens, 60, **seeded)
    if level == "word":
        assert out.getvalue().count("\n") > 3  # (line breaks were written, some at chunk edges)
    # the text was out every 7 tokens, while the model still had tokens to make: the warm-up and one call per
    # token after the first (was: one write, after the last call)
    grown = [(calls, size) for calls, size in out.flushes if 0 < size < len(out.getvalue())]
    assert [calls for calls, _ in grown] == [7 * k for k in range(1, 9)] + [60]
    assert len({size for _, size in grown}) == 9


def test_several_samples_print_as_before(runs, capsys):
    assert main(["generate", "--checkpoint", str(runs[1]), "--prefix", "the dog", "--num-tokens", "300",
                 "--top-p", "0.9", "--seed", "1", "--num-samples", "3"]) == 0
    assert capsys.readouterr().out == _before(runs[1], ["the", "dog"], 300, 3, top_p=0.9, seed=1)


@pytest.mark.parametrize("samples", [1, 3])
def test_a_ctrl_c_prints_what_each_sample_has_so_far(runs, monkeypatch, capsys, samples):
    # was: "seqlab: interrupted" and nothing on stdout, however long it had run
    monkeypatch.setattr(lm, "STREAM_EVERY", 5)
    _wrap(monkeypatch, stop=1 + 12)  # the warm-up, then one call per new token: 12 tokens made, 10 shown
    sampling = ["--temperature", "1.0", "--seed", "2", "--num-samples", str(samples)]
    assert main(["generate", "--checkpoint", str(runs[1]), "--prefix", "the cat", "--num-tokens", "40",
                 *sampling]) == 130
    said = capsys.readouterr()
    assert said.err == "seqlab: interrupted\n"
    assert said.out == _before(runs[1], ["the", "cat"], 10, samples, temperature=1.0, seed=2)
    _wrap(monkeypatch, stop=1)  # in the warm-up: the prefix, which is all there is
    assert main(["generate", "--checkpoint", str(runs[0]), "--prefix", "the", "--num-tokens", "40", *sampling]) == 130
    assert capsys.readouterr().out == _before(runs[0], list("the"), 0, samples, temperature=1.0, seed=2)

"""The CLI passes the VALUE of an option on to the library, not just its presence: `train lm
--sampling`, `generate --temperature` and `train translate`'s default --min-freq. Each is checked
against a twin (the book's iterator, the library's `generate`, `build_vocabs`) run on the same data
or checkpoint, so an option that is parsed but dropped on the way (or given another default) fails."""

import collections
import random

import pytest
import torch

from seqlab.cli import main
from seqlab.data.vocab import Vocab
from seqlab.training.checkpoint import load_checkpoint

from book_sampling import book_seq_data_iter_random  # tests/d2l, on the test path

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU

B, T = 4, 10  # batch size and num_steps of the tiny LM runs


def _train_lm(text, out, sampling, epochs=2):
    return main(["train", "lm", "--data", str(text), "--level", "char", "--cell", "gru", "--impl", "fused",
                 "--hidden", "8", "--layers", "1", "--batch-size", str(B), "--num-steps", str(T),
                 "--epochs", str(epochs), "--lr", "0.01", "--optimizer", "adam", "--sampling", sampling,
                 "--device", "cpu", "--seed", "3", "--out", str(out), "--no-progress"])


def book_seq_data_iter_sequential(corpus, batch_size, num_steps, rng):
    """d2l 8.3's seq_data_iter_sequential, its offset drawn from `rng` in [0, T-1] (SPEC §13: the
    book's randint(0, num_steps) could skip a whole window)."""
    offset = rng.randint(0, num_steps - 1)
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    Xs = torch.tensor(corpus[offset: offset + num_tokens]).reshape(batch_size, -1)
    Ys = torch.tensor(corpus[offset + 1: offset + 1 + num_tokens]).reshape(batch_size, -1)
    num_batches = Xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        yield Xs[:, i: i + num_steps], Ys[:, i: i + num_steps]


def _train_ids(out):
    """The training split's ids, read again from the run's data and vocabulary."""
    from seqlab.training.lm import model_from_checkpoint
    from seqlab.training.lm_data import load_corpus

    ckpt = load_checkpoint(out)
    _, cfg = model_from_checkpoint(ckpt)
    return load_corpus(cfg, vocab=Vocab.from_dict(ckpt.meta["vocab"])).train.tolist()


def _record_batches(monkeypatch) -> list:
    """Each epoch's (X, Y) batches as train_epoch receives them, one list per epoch."""
    import seqlab.training.lm as lm

    seen = []
    real = lm.train_epoch

    def spy(net, batches, *args, **kwargs):
        epoch = [(X.clone(), Y.clone()) for X, Y in batches]
        seen.append(epoch)
        return real(net, epoch, *args, **kwargs)

    monkeypatch.setattr(lm, "train_epoch", spy)
    return seen


def test_sampling_random_trains_on_the_books_random_batches(text, tmp_path, monkeypatch):
    # (SPEC §6/§12) `--sampling random` must reach the batches, not only the state reset: each
    # epoch's batches are the book's seq_data_iter_random under random.Random(--seed), drawn in turn
    seen = _record_batches(monkeypatch)
    out = tmp_path / "run"
    assert _train_lm(text, out, "random") == 0
    corpus = _train_ids(out)
    assert len(corpus) - 1 - B * T >= T - 1  # long enough that the library's offset cap does not apply
    kept = random.getstate()
    random.seed(3)  # the book draws from the global `random`: seeded, the stream of random.Random(3)
    book = [list(book_seq_data_iter_random(corpus, B, T)) for _ in range(2)]
    random.setstate(kept)
    assert len(seen) == 2 and [len(e) for e in seen] == [len(e) for e in book] and len(book[0]) > 1
    for got, want in zip(seen, book):
        for (X, Y), (bX, bY) in zip(got, want):
            assert torch.equal(X, bX) and torch.equal(Y, bY)


def test_sampling_sequential_trains_on_the_books_sequential_batches(text, tmp_path, monkeypatch):
    # the other value, so that neither is the one the CLI always gives
    seen = _record_batches(monkeypatch)
    out = tmp_path / "run"
    assert _train_lm(text, out, "sequential", epochs=1) == 0
    corpus = _train_ids(out)
    book = list(book_seq_data_iter_sequential(corpus, B, T, random.Random(3)))
    assert len(seen) == 1 and len(seen[0]) == len(book) > 1
    for (X, Y), (bX, bY) in zip(seen[0], book):
        assert torch.equal(X, bX) and torch.equal(Y, bY)


@pytest.fixture
def lm_run(text, tmp_path):
    """A tiny trained char LM (3 epochs on the book's first line x12): its run folder."""
    assert _train_lm(text, tmp_path / "run", "sequential", epochs=3) == 0
    return tmp_path / "run"


def _cli_generate(run, capsys, *extra):
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(run), "--prefix", "the", "--num-tokens", "40", "--device", "cpu",
                 *extra]) == 0
    return capsys.readouterr().out


def test_generate_temperature_value_reaches_sampling(lm_run, capsys):
    # (SPEC §7/§12) the CLI's --temperature T samples as the library's generate(..., temperature=T)
    # does on the same checkpoint and seed; a T of 1 would give other text (checked first)
    from seqlab.generation.sampling import generate
    from seqlab.training.lm import model_from_checkpoint

    ckpt = load_checkpoint(lm_run, "best")  # generate's default checkpoint
    net, _ = model_from_checkpoint(ckpt)
    vocab = Vocab.from_dict(ckpt.meta["vocab"])

    def library(**sampling):
        return "".join(generate(net, vocab, "the", 40, **sampling)) + "\n"

    hot, plain, greedy = library(temperature=2.0, seed=1), library(temperature=1.0, seed=1), library()
    assert len({hot, plain, greedy}) == 3  # the model's text depends on the temperature
    assert _cli_generate(lm_run, capsys, "--temperature", "2", "--seed", "1") == hot
    # a tiny temperature is (to float precision) the arg-max: the CLI's greedy output
    assert _cli_generate(lm_run, capsys) == greedy
    assert _cli_generate(lm_run, capsys, "--temperature", "1e-3", "--seed", "1") == greedy


# Each pair of the first list is read 3 times; each of the second once, so their words (bar "I", "He",
# "Je", "Il", "est", punctuation...) are seen once in training: min_freq 1 and 2 give other vocabularies
COMMON = [("Go.", "Va !"), ("Hi.", "Salut !"), ("I'm home.", "Je suis chez moi."), ("He's calm.", "Il est calme."),
          ("I lost.", "J'ai perdu."), ("I'm calm.", "Je suis calme.")]
ONCE = [("I like tea.", "J'aime le thé."), ("He sings.", "Il chante."), ("I read books.", "Je lis des livres."),
        ("He runs fast.", "Il court vite."), ("I see a bird.", "Je vois un oiseau."), ("He is tall.", "Il est grand.")]


def test_train_translate_default_min_freq_is_2(tmp_path):
    # (SPEC §8) without --min-freq, training's vocabularies are the book's build_vocabs(src, tgt, 2)
    # of the training split, which differ here from those of min_freq 1 (checked first)
    from seqlab.data.translation import build_vocabs
    from seqlab.data.translation_splits import read_pairs, split_pairs

    pairs = tmp_path / "pairs.txt"
    pairs.write_text("".join(f"{a}\t{b}\n" for a, b in COMMON * 3 + ONCE), encoding="utf-8")
    out = tmp_path / "run"
    assert main(["train", "translate", "--data", str(pairs), "--num-steps", "6", "--embed", "4", "--hidden", "4",
                 "--layers", "1", "--batch-size", "8", "--epochs", "1", "--valid-frac", "0.2", "--test-frac", "0.2",
                 "--bleu-every", "0", "--device", "cpu", "--out", str(out), "--no-progress"]) == 0
    meta = load_checkpoint(out).meta
    got = [Vocab.from_dict(meta[k]).idx_to_token for k in ("src_vocab", "tgt_vocab")]
    train = split_pairs(*read_pairs(pairs), 0.2, 0.2, 0)["train"]
    src, tgt = [p[0] for p in train], [p[1] for p in train]
    want = [v.idx_to_token for v in build_vocabs(src, tgt, 2)]
    assert got == want != [v.idx_to_token for v in build_vocabs(src, tgt, 1)]
    # by hand: the reserved tokens, then the source words seen twice or more (most frequent first)
    counts = collections.Counter(w for s in src for w in s)
    assert sorted(got[0][4:]) == sorted(w for w, c in counts.items() if c >= 2) and got[0][:4] == [
        "<unk>", "<pad>", "<bos>", "<eos>"]
    assert meta["config"]["data"]["min_freq"] == 2

"""Length bucketing of a text run's training batches (data.bucketing.bucket_order, --bucket; off by
default): every text once an epoch, less padding, the same batches from the same seed, and
a resumed run drawing the uninterrupted one's batches."""

import csv
import io
import random

import pytest
import torch

from seqlab.config import replace
from seqlab.data.bucketing import bucket_order
from seqlab.training.classify import ClassifyConfig, train_classifier
from seqlab.training.classify_text import TextBatches

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster, and shares a busy CPU

WORDS = "the a movie film was is plot actor really quite very and it this story good bad".split()


def quiet(*a, **k):
    pass


def padding(order, lengths, batch_size):
    """Pad tokens of an epoch's batches: each batch padded to its longest text."""
    pad = 0
    for start in range(0, len(order), batch_size):
        batch = lengths[order[start:start + batch_size]]
        pad += int(batch.max()) * len(batch) - int(batch.sum())
    return pad


def test_every_text_once_the_short_batch_last_and_less_padding():
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(5, 401, (1003,), generator=g)  # 5..400 tokens
    order = bucket_order(lengths, 16, generator=torch.Generator().manual_seed(1))
    assert sorted(order.tolist()) == list(range(1003))  # a permutation: every text exactly once
    plain = torch.randperm(1003, generator=torch.Generator().manual_seed(1))
    assert padding(order, lengths, 16) < 0.1 * padding(plain, lengths, 16)
    # a pool of 50 batches of 16 (the first 800 texts of the same generator's permutation, `plain`), then one
    # of the other 203: the short batch (11 texts) is last, and holds the longest of those 203
    short, pool = order[992:], plain[800:]
    assert len(short) == 11 and set(short.tolist()) <= set(pool.tolist())
    others = [i for i in pool.tolist() if i not in set(short.tolist())]
    assert int(lengths[short].min()) >= int(lengths[others].max())
    # each full batch's texts are of about one length: sorted within a pool, so its spread is small
    spreads = [int(lengths[order[i:i + 16]].max() - lengths[order[i:i + 16]].min()) for i in range(0, 992, 16)]
    assert sorted(spreads)[len(spreads) // 2] < 40


def test_the_same_seed_draws_the_same_batches():
    lengths = torch.randint(1, 50, (300,), generator=torch.Generator().manual_seed(0))
    torch.manual_seed(5)
    a = bucket_order(lengths, 8, pool=4)
    torch.manual_seed(5)
    b = bucket_order(lengths, 8, pool=4)
    torch.manual_seed(6)
    c = bucket_order(lengths, 8, pool=4)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(bucket_order(lengths, 8, generator=torch.Generator().manual_seed(3)),
                       bucket_order(lengths, 8, generator=torch.Generator().manual_seed(3)))


def test_small_sets_and_bad_sizes():
    assert bucket_order(torch.zeros(0, dtype=torch.long), 4).tolist() == []
    assert sorted(bucket_order(torch.tensor([3, 1, 2]), 8).tolist()) == [0, 1, 2]  # one short batch
    order = bucket_order(torch.tensor([9, 1, 8, 2]), 2, pool=2)
    assert sorted(order.tolist()) == [0, 1, 2, 3]
    assert {frozenset(order[:2].tolist()), frozenset(order[2:].tolist())} == {frozenset({1, 3}), frozenset({0, 2})}
    with pytest.raises(Exception, match="batch_size and pool must be positive"):
        bucket_order(torch.tensor([1, 2]), 0)


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    """Labelled texts of 1 to 60 words."""
    rng = random.Random(0)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["label", "text"])
    for _ in range(400):
        label = rng.choice(["pos", "neg"])
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 60))]
        words.insert(rng.randint(0, len(words)), "good" if label == "pos" else "bad")
        w.writerow([label, " ".join(words)])
    path = tmp_path_factory.mktemp("bucket") / "d.csv"
    path.write_text(buf.getvalue())
    return path


def recorded_run(monkeypatch, cfg):
    """The training batches (lists of text indices) of each epoch of a run, and the training split's lengths."""
    batches, lengths = [], {}
    real = TextBatches.batch

    def recording(self, idx, device):
        if len(self) == 360:  # the training split (400 - 40 held out)
            batches.append(idx.tolist())
            lengths["train"] = self.texts.lengths
        return real(self, idx, device)

    monkeypatch.setattr(TextBatches, "batch", recording)
    train_classifier(cfg, device="cpu", show_progress=False, log=quiet)
    monkeypatch.setattr(TextBatches, "batch", real)
    per_epoch = -(-360 // cfg.train.batch_size)
    return [batches[i:i + per_epoch] for i in range(0, len(batches), per_epoch)], lengths["train"]


def config(data, out, **changes):
    cfg = replace(ClassifyConfig(), data=str(data), embed=8, hidden=8, layers=1, epochs=2, lr=0.01, batch_size=16,
                  seed=3, dropout=0.1, schedule="none", out=str(out))
    return replace(cfg, **changes)


def test_the_trainer_sees_every_text_once_an_epoch_with_less_padding(texts, tmp_path, monkeypatch):
    bucketed, lengths = recorded_run(monkeypatch, config(texts, tmp_path / "b", bucket=True))
    plain, _ = recorded_run(monkeypatch, config(texts, tmp_path / "p", bucket=False))
    assert len(bucketed) == len(plain) == 2
    for epoch in bucketed + plain:
        assert sorted(i for batch in epoch for i in batch) == list(range(360))
        assert [len(b) for b in epoch] == [16] * 22 + [8]  # the short batch last, as without bucketing
    assert bucketed[0] != bucketed[1]  # each epoch its own draw

    def pad(epoch):
        return sum(int(lengths[b].max()) * len(b) - int(lengths[b].sum()) for b in epoch)

    assert pad(bucketed[0]) < 0.25 * pad(plain[0])


def test_the_same_seed_gives_the_same_batches_and_a_resume_draws_them_again(texts, tmp_path, monkeypatch):
    whole, _ = recorded_run(monkeypatch, config(texts, tmp_path / "a", bucket=True))
    again, _ = recorded_run(monkeypatch, config(texts, tmp_path / "b", bucket=True))
    assert again == whole
    first, _ = recorded_run(monkeypatch, config(texts, tmp_path / "c", epochs=1, bucket=True))
    resumed, _ = recorded_run(monkeypatch, config(texts, tmp_path / "c", resume=True, bucket=True))
    assert first + resumed == whole
    other, _ = recorded_run(monkeypatch, config(texts, tmp_path / "d", seed=4, bucket=True))
    assert other[0] != whole[0]


@pytest.mark.slow
def test_a_killed_text_run_resumes_bit_for_bit(texts, tmp_path):
    # SIGKILLed at random moments and resumed: the weights, the optimiser state and best.safetensors
    # are those of the uninterrupted run (the bucketed batches drawn again from the restored RNG)
    import random as _random

    import kill_resume as kr

    def argv(out):
        return ["train", "classify", "--data", str(texts), "--embed", "8", "--hidden", "12", "--layers", "1",
                "--dropout", "0.2", "--lr", "0.01", "--batch-size", "16", "--epochs", "8", "--seed", "3",
                "--device", "cpu", "--no-progress", "--bucket", "--out", str(out)]

    rc, ref_s, err = kr.run(argv(tmp_path / "ref"))
    assert rc == 0, err
    ref = kr.final_tensors(tmp_path / "ref")
    rng, killed = _random.Random(0), 0
    for trial in range(3):
        out = tmp_path / f"t{trial}"
        killed += kr.run_killed(argv(out), rng.uniform(0.1, 0.9) * ref_s)
        resume = ["--resume"] if (out / "last.safetensors").exists() else ["--overwrite"]
        rc, _, err = kr.run(argv(out) + resume)
        assert rc == 0, err
        assert kr.bitwise_equal(kr.final_tensors(out), ref)
    assert killed >= 2  # (a kill after the run's end tests nothing)


def test_a_run_from_before_bucketing_resumes_with_its_plain_batches_and_refuses_bucket(texts, tmp_path,
                                                                                     monkeypatch):
    # a checkpoint whose config has no `bucket` (written before it existed) drew plain shuffled batches: it is
    # a bucket = false run. It resumes plain (today's default), again after that, and --bucket is refused
    import seqlab.training.classify as classify
    from seqlab.errors import SeqlabError

    plain, _ = recorded_run(monkeypatch, config(texts, tmp_path / "a", epochs=3))
    recorded_run(monkeypatch, config(texts, tmp_path / "b", epochs=1))
    real = classify.resume_checkpoint

    def old(out, task, which="last"):
        ckpt = real(out, task, which)
        ckpt.meta["config"]["train"].pop("bucket", None)  # as a checkpoint from before bucketing has it
        return ckpt

    monkeypatch.setattr(classify, "resume_checkpoint", old)
    with pytest.raises(SeqlabError, match="trained with bucket false; now bucket true"):
        recorded_run(monkeypatch, config(texts, tmp_path / "b", epochs=2, resume=True, bucket=True))
    resumed, _ = recorded_run(monkeypatch, config(texts, tmp_path / "b", epochs=2, resume=True))
    assert resumed == plain[1:2]
    monkeypatch.setattr(classify, "resume_checkpoint", real)  # its checkpoints now say bucket = false
    again, _ = recorded_run(monkeypatch, config(texts, tmp_path / "b", epochs=3, resume=True))
    assert again == plain[2:]


def test_bucketing_a_small_set_says_what_it_costs(texts, tmp_path):
    said = []
    train_classifier(config(texts, tmp_path / "s", epochs=1, bucket=True), device="cpu", show_progress=False,
                     log=said.append)
    assert any("--bucket: the 360 training texts make 1 pool of 50 batches" in line for line in said)
    said.clear()
    train_classifier(config(texts, tmp_path / "p", epochs=1), device="cpu", show_progress=False, log=said.append)
    assert not any("--bucket" in line for line in said)

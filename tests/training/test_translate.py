"""Masked loss (and the book's defect), teacher forcing, and a short training run that learns."""

import math

import pytest
import torch
from torch.nn import functional as F

from seqlab.data.translation import batches
from seqlab.models.seq2seq import build_seq2seq, init_seq2seq
from seqlab.training.translate import evaluate_loss, teacher_forcing_input, train_epoch
from seqlab.training.translate_loss import MaskedSoftmaxCELoss, book_masked_ce, masked_ce, sequence_mask

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU



def test_sequence_mask_book_example():
    X = torch.tensor([[1, 2, 3], [4, 5, 6]])
    assert sequence_mask(X, torch.tensor([1, 2])).tolist() == [[1, 0, 0], [4, 5, 0]]
    X = torch.ones(2, 3, 4)
    assert sequence_mask(X, torch.tensor([1, 2]), value=-1)[:, :, 0].tolist() == [[1, -1, -1], [1, 1, -1]]


def test_loss_averages_over_real_tokens_and_book_version_differs():
    pred, label, valid = torch.ones(3, 4, 10), torch.ones((3, 4), dtype=torch.long), torch.tensor([4, 2, 0])
    ours = MaskedSoftmaxCELoss()(pred, label, valid)
    assert ours.tolist() == pytest.approx([math.log(10), math.log(10), 0.0], abs=1e-4)
    book = book_masked_ce(pred, label, valid)
    assert book.tolist() == pytest.approx([2.3026, 1.1513, 0.0], abs=1e-4)  # SPEC §13, d2l-en #2076


def test_masked_ce_equals_cross_entropy_ignoring_padding():
    torch.manual_seed(0)
    logits, labels = torch.randn(5, 7, 11), torch.randint(3, 11, (5, 7))
    valid = torch.tensor([7, 1, 3, 5, 2])
    padded = labels.clone()
    for i, v in enumerate(valid):
        padded[i, v:] = 1  # <pad>
    ref = F.cross_entropy(logits.reshape(-1, 11), padded.reshape(-1), ignore_index=1, reduction="sum")
    assert float(masked_ce(logits, labels, valid).sum()) == pytest.approx(float(ref), rel=1e-5)


def test_masked_loss_keeps_float64_and_computes_half_precision_in_float32():
    # a float64 model's loss is float64 (it was cut to float32: 3e-7 off, gradcheck failed)
    torch.manual_seed(0)
    logits = torch.randn(3, 4, 6, dtype=torch.float64, requires_grad=True)
    labels, valid = torch.randint(0, 6, (3, 4)), torch.tensor([4, 2, 0])
    loss = MaskedSoftmaxCELoss()
    assert loss(logits, labels, valid).dtype == torch.float64
    assert torch.autograd.gradcheck(lambda z: loss(z, labels, valid), (logits,))
    half = masked_ce(logits.detach().bfloat16(), labels, valid)
    assert half.dtype == torch.float32
    torch.testing.assert_close(half, masked_ce(logits.detach().bfloat16().float(), labels, valid))


def test_teacher_forcing_input_shifts_right_after_bos():
    Y = torch.tensor([[5, 6, 3, 1], [7, 3, 1, 1]])
    assert teacher_forcing_input(Y, bos=2).tolist() == [[2, 5, 6, 3], [2, 7, 3, 1]]


def _copy_task(n=64, T=6, V=9, seed=0):
    # target = source reversed, then <eos>=3; padding 1; tokens 4..V-1
    g = torch.Generator().manual_seed(seed)
    lens = torch.randint(1, T - 1, (n,), generator=g)
    src = torch.ones(n, T, dtype=torch.long)
    tgt = torch.ones(n, T, dtype=torch.long)
    for i, L in enumerate(lens.tolist()):
        s = torch.randint(4, V, (L,), generator=g)
        src[i, :L], src[i, L] = s, 3
        tgt[i, :L], tgt[i, L] = s.flip(0), 3
    return src, lens + 1, tgt, lens + 1


@pytest.mark.parametrize("attention", [False, True])
def test_short_training_learns_the_reversal_task(attention):
    torch.manual_seed(0)
    arrays = _copy_task()
    model = build_seq2seq(9, 9, embed=16, hidden=32, layers=1, attention=attention)
    model.apply(init_seq2seq)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    dev = torch.device("cpu")
    before = evaluate_loss(model, batches(arrays, 32), bos=2, device=dev)
    for epoch in range(40):
        r = train_epoch(model, batches(arrays, 16, shuffle=True, generator=torch.Generator().manual_seed(epoch)),
                        opt, bos=2, clip=1.0, device=dev)
    after = evaluate_loss(model, batches(arrays, 32), bos=2, device=dev)
    assert r["tokens"] == int(arrays[3].sum()) and r["seconds"] > 0 and not r["stopped"]
    assert before["loss_sum"] / before["tokens"] > 1.5
    assert after["loss_sum"] / after["tokens"] < 0.5 * before["loss_sum"] / before["tokens"]


def test_deadline_stops_an_epoch_early():
    arrays = _copy_task(n=64)
    model = build_seq2seq(9, 9, embed=8, hidden=8, layers=1)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    r = train_epoch(model, batches(arrays, 8), opt, bos=2, clip=1.0, device=torch.device("cpu"), deadline=0.0)
    assert r["stopped"] and 0 < r["tokens"] < int(arrays[3].sum())  # one batch, then stop


def test_evaluation_and_translation_run_in_eval_mode_and_restore_the_mode():
    # dropout left on would make the held-out loss and the translations (hence BLEU) random
    from seqlab.data.translation import build_vocabs
    from seqlab.data.translation_splits import TranslationData
    from seqlab.training.translate import translate_pairs

    torch.manual_seed(0)
    model = build_seq2seq(9, 9, embed=16, hidden=32, layers=2, dropout=0.5, attention=True)
    arrays, dev = _copy_task(), torch.device("cpu")
    model.train()
    losses = [evaluate_loss(model, batches(arrays, 32), bos=2, device=dev) for _ in range(2)]
    assert model.training and losses[0] == losses[1]
    pairs = [(list("abcab"), list("bacba")), (list("cab"), list("bac"))]
    src_vocab, tgt_vocab = build_vocabs([p[0] for p in pairs], [p[1] for p in pairs], min_freq=1)
    model = build_seq2seq(len(src_vocab), len(tgt_vocab), embed=16, hidden=32, layers=2, dropout=0.5)
    data = TranslationData({"test": pairs}, src_vocab, tgt_vocab, num_steps=8)
    model.train()
    outs = [translate_pairs(model, pairs, data, device=dev, beam_size=2) for _ in range(2)]
    assert model.training
    model.eval()
    assert outs[0] == outs[1] == translate_pairs(model, pairs, data, device=dev, beam_size=2)


def test_best_checkpoint_is_the_lowest_valid_loss_epoch(tmp_path, monkeypatch):
    # scripted held-out losses 3, 1, 2 per token: best.safetensors must stay at epoch 2
    import seqlab.training.translate as tr
    from seqlab.cli.translate import TranslateConfig
    from seqlab.config import replace
    from seqlab.training.checkpoint import load_checkpoint

    pairs = tmp_path / "pairs.txt"
    pairs.write_text("".join(f"w{i} x{i % 3} .\tv{i} y{i % 3} !\n" for i in range(20)), encoding="utf-8")
    script = iter([3.0, 1.0, 2.0])
    monkeypatch.setattr(tr, "evaluate_loss", lambda *a, **k: {"loss_sum": 10 * next(script), "tokens": 10})
    cfg = replace(TranslateConfig(), data=str(pairs), num_steps=5, embed=4, hidden=4, layers=1, dropout=0.0,
                  epochs=3, batch_size=8, bleu_every=0, valid_frac=0.2, test_frac=0.0, min_freq=1,
                  device="cpu", out=str(tmp_path / "run"))
    tr.fit(cfg, log=lambda *a: None)
    best, last = load_checkpoint(tmp_path / "run", "best"), load_checkpoint(tmp_path / "run", "last")
    assert (best.meta["epoch"], best.meta["valid_loss"]) == (2, 1.0)
    assert (last.meta["epoch"], last.meta["best_valid_loss"]) == (3, 1.0)


@pytest.mark.parametrize("attention", [False, True])
def test_train_epoch_with_the_fused_output_loss_trains_as_the_logits_path(attention, monkeypatch):
    # the decoders' output layer + CE in one step (fused_loss; MIN_VOCAB lowered so that this small
    # target vocabulary takes it) against --no-fast's logits and masked_ce: same losses, same weights
    from seqlab.models import fused_loss

    monkeypatch.setattr(fused_loss, "MIN_VOCAB", 1)
    arrays = _copy_task(n=24)
    results = []
    for fast in (True, False):
        torch.manual_seed(0)
        model = build_seq2seq(9, 9, embed=8, hidden=12, layers=2, attention=attention, fast=fast)
        model.apply(init_seq2seq)
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        r = train_epoch(model, batches(arrays, 8), opt, bos=2, clip=1.0, device=torch.device("cpu"))
        results.append((model, r))
    (fused, r_fused), (plain, r_plain) = results
    assert r_fused["tokens"] == r_plain["tokens"] == int(arrays[3].sum())
    assert r_fused["loss_sum"] == pytest.approx(r_plain["loss_sum"], rel=1e-5)
    for p, q in zip(fused.parameters(), plain.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("attention", [False, True])
def test_decoder_targets_give_each_tokens_cross_entropy_of_its_logits(attention, monkeypatch):
    from seqlab.models import fused_loss

    monkeypatch.setattr(fused_loss, "MIN_VOCAB", 1)
    torch.manual_seed(1)
    model = build_seq2seq(9, 9, embed=8, hidden=12, layers=1, attention=attention)
    X, X_len, Y, Y_len = _copy_task(n=5)
    dec_X = teacher_forcing_input(Y, 2)
    logits, _ = model(X, dec_X, X_len)
    want = F.cross_entropy(logits.permute(0, 2, 1), Y, reduction="none")  # (B, T)
    from seqlab.training.translate import batch_token_loss
    torch.testing.assert_close(batch_token_loss(model, X, X_len, Y, Y_len, 2), masked_ce(logits, Y, Y_len).sum())
    ce, _ = model(X, dec_X, X_len, targets=Y)
    fn = ce.grad_fn  # (B, T) <- transpose <- view <- the fused step
    for _ in range(2):
        fn = fn.next_functions[0][0]
    assert type(fn).__name__ == "_LinearCrossEntropyBackward"
    torch.testing.assert_close(ce, want, rtol=1e-5, atol=1e-6)
    from seqlab.errors import SeqlabError
    with pytest.raises(SeqlabError, match=r"the targets must have the decoder input's shape \(B, T\) = \(5, 6\)"):
        model(X, dec_X, X_len, targets=Y[:, :4])
    Y[2, 1] = 9
    with pytest.raises(SeqlabError, match="token id 9 is out of range for a vocabulary of 9 tokens"):
        model(X, dec_X, X_len, targets=Y)


def test_a_decoder_without_targets_trains_through_its_logits():
    # a user's decoder in the book's interface (forward(X, state) -> logits) still trains
    from seqlab.models.seq2seq import Decoder, EncoderDecoder, Seq2SeqEncoder
    from seqlab.training.translate import batch_token_loss

    class BookDecoder(Decoder):
        def __init__(self):
            super().__init__()
            self.embedding, self.dense = torch.nn.Embedding(9, 4), torch.nn.Linear(4, 9)

        def init_state(self, enc_outputs, *args):
            return None

        def forward(self, X, state):
            return self.dense(self.embedding(X)), state

    torch.manual_seed(2)
    model = EncoderDecoder(Seq2SeqEncoder(9, 4, 4, 1), BookDecoder())
    X, X_len, Y, Y_len = _copy_task(n=4)
    logits, _ = model(X, teacher_forcing_input(Y, 2), X_len)
    loss = batch_token_loss(model, X, X_len, Y, Y_len, 2)
    torch.testing.assert_close(loss, masked_ce(logits, Y, Y_len).sum())

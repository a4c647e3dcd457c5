"""Bad input to the translation API and its `d2l` names: a clear SeqlabError that says what
was wrong, never a traceback from inside torch nor a silently wrong result."""

import numpy as np
import pytest
import torch

from seqlab import d2l
from seqlab.errors import SeqlabError
from seqlab.generation.translate import beam_search, greedy_decode
from seqlab.models.seq2seq import build_seq2seq
from seqlab.training.bleu import corpus_bleu

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU

RESERVED = ["<pad>", "<bos>", "<eos>"]


# --- 1. Vocab ---------------------------------------------------------------------------------

@pytest.fixture
def hello():
    return d2l.Vocab([list("hello world")])  # 9 tokens: <unk> l o h e ' ' w r d


@pytest.mark.parametrize("ids, message", [
    (100, "id 100 is out of range for a vocabulary of 9 tokens"),
    ([1, 100], "id 100 is out of range"),
    (-1, "id -1 is out of range"),  # would silently wrap to the last token
    ([1.7, 2.2], "must be integers"),  # would silently truncate
    (1.5, "must be integers"),
    (torch.tensor([1.0, 2.0]), "must be integers"),
])
def test_vocab_to_tokens_refuses_bad_ids(hello, ids, message):
    with pytest.raises(SeqlabError, match=message):
        hello.to_tokens(ids)


def test_vocab_to_tokens_takes_integer_scalars_and_tensors(hello):
    assert hello.to_tokens(np.int64(1)) == hello.to_tokens(torch.tensor(1)) == "l"
    assert hello.to_tokens(torch.tensor([1, 2])) == hello.to_tokens(np.array([1, 2])) == ["l", "o"]
    assert hello.to_tokens(torch.tensor([[1, 2], [3, 4]])) == [["l", "o"], ["h", "e"]]


@pytest.mark.parametrize("kwargs, message", [
    (dict(reserved_tokens="<pad>"), "reserved_tokens must be a list of strings"),  # not '<', 'p', ...
    (dict(reserved_tokens=[1, 2]), "reserved_tokens must be a list of strings"),
    (dict(max_size=-1), "max_size=-1 keeps no token"),  # was silently size 1
    (dict(max_size=0), "max_size=0 keeps no token"),
    (dict(max_size=2.5), "max_size must be an integer >= 1"),
])
def test_vocab_settings(kwargs, message):
    with pytest.raises(SeqlabError, match=message):
        d2l.Vocab([list("abc")], **kwargs)


# --- 2. BLEU ----------------------------------------------------------------------------------

@pytest.mark.parametrize("pred, label, k, message", [
    ("a b c", "x y z", 0, r"k must be a positive integer \(the largest n-gram order\), got"),  # returned 1.0
    ("a b c", "x y z", -1, r"k must be a positive integer \(the largest n-gram order\), got"),
    ("a b c", "a b c", 2.5, r"k must be a positive integer \(the largest n-gram order\), got"),
    (None, "a", 2, "a sentence must be a string or a list of tokens"),
    (["a", None], "a", 2, "tokens must be strings or integer ids"),
])
def test_bleu_bad_arguments(pred, label, k, message):
    with pytest.raises(SeqlabError, match=message):
        d2l.bleu(pred, label, k)


def test_bleu_of_tensors_compares_values_not_identities():
    assert d2l.bleu(torch.tensor([1, 2, 3]), torch.tensor([1, 2, 3]), 2) == 1.0  # was 0.0
    assert corpus_bleu(torch.tensor([[1, 2, 3, 4, 5]]), [[1, 2, 3, 4, 5]]) == pytest.approx(100.0)


@pytest.mark.parametrize("hyps, refs, kwargs, message", [
    (["a b c d e"], ["a b c d e"], dict(max_n=0),
     r"max_n must be a positive integer \(the largest n-gram order\), got 0"),  # ZeroDivisionError
    ("a b c d e", "a b c d e", {}, "must be a list of sentences, not one string"),  # returned 0.0
    (None, ["a"], {}, "must be a list of sentences"),
])
def test_corpus_bleu_bad_arguments(hyps, refs, kwargs, message):
    with pytest.raises(SeqlabError, match=message):
        corpus_bleu(hyps, refs, **kwargs)


# --- 3. truncate_pad --------------------------------------------------------------------------

@pytest.mark.parametrize("num_steps", [-2, 0, 2.0])  # -2 returned [1], 0 returned [], 2.0 TypeError
def test_truncate_pad_needs_a_positive_integer(num_steps):
    with pytest.raises(SeqlabError, match="num_steps must be a positive integer"):
        d2l.truncate_pad([1, 2, 3], num_steps, 9)


# --- 4. vocabularies without the reserved tokens ----------------------------------------------

def _tiny_net(src_vocab, tgt_vocab, attention=False):
    torch.manual_seed(0)
    return build_seq2seq(len(src_vocab), len(tgt_vocab), embed=4, hidden=8, layers=1, attention=attention)


def test_build_array_nmt_needs_pad_and_eos():
    v = d2l.Vocab([["a", "b"]])  # <eos>, <pad> and <unk> would all be id 0
    with pytest.raises(SeqlabError, match=r"the vocabulary has no '<pad>': build it with reserved_tokens="):
        d2l.build_array_nmt([["a", "b"]], v, 4)


def test_predict_and_train_need_the_reserved_tokens():
    good = d2l.Vocab([["go", "."]], reserved_tokens=RESERVED)
    bad = d2l.Vocab([["go", "."]])
    net = _tiny_net(good, good)
    with pytest.raises(SeqlabError, match="the vocabulary has no"):
        d2l.predict_seq2seq(net, "go .", bad, good, 5, "cpu")
    with pytest.raises(SeqlabError, match="the vocabulary has no '<bos>'"):
        d2l.predict_seq2seq(net, "go .", good, bad, 5, "cpu")
    batch = (torch.tensor([[4, 5, 3]]), torch.tensor([3]), torch.tensor([[4, 5, 3]]), torch.tensor([3]))
    with pytest.raises(SeqlabError, match="the vocabulary has no '<bos>'"):  # trained with bos = 0 silently
        d2l.train_seq2seq(net, [batch], 0.01, 1, bad, "cpu")


# --- 5. predict_seq2seq checks its sentence like encode_source --------------------------------

@pytest.mark.parametrize("sentence, num_steps, message", [
    ("go .", 0, "num_steps must be a positive integer"),
    ("go .", -3, "num_steps must be a positive integer"),
    ("", 5, "empty sentence"),
    ("zzz qqq", 5, "every word of 'zzz qqq' is unknown"),
    ("go . go . go", 5, "has 5 tokens but the model reads at most 4"),  # was cut, dropping <eos>
    (["go", "."], 5, "the sentence must be a string"),
])
def test_predict_seq2seq_checks_the_sentence(sentence, num_steps, message):
    vocab = d2l.Vocab([["go", "."]], reserved_tokens=RESERVED)
    with pytest.raises(SeqlabError, match=message):
        d2l.predict_seq2seq(_tiny_net(vocab, vocab), sentence, vocab, vocab, num_steps, "cpu")


# --- 6. the masked loss and masks -------------------------------------------------------------

def test_masked_loss_refuses_lengths_past_the_steps_or_negative():
    loss = d2l.MaskedSoftmaxCELoss()
    pred, label = torch.ones(3, 4, 10), torch.ones(3, 4, dtype=torch.long)
    with pytest.raises(SeqlabError, match=r"valid lengths must be in 0\.\.4"):
        loss(pred, label, torch.tensor([9, 2, 0]))  # was 1.0234: 4 tokens' loss divided by 9
    with pytest.raises(SeqlabError, match=r"valid lengths must be in 0\.\.4"):
        loss(pred, label, torch.tensor([-1, 2, 0]))  # was 0 silently
    with pytest.raises(SeqlabError, match="labels of shape \\(3, 5\\) do not fit predictions"):
        loss(pred, torch.ones(3, 5, dtype=torch.long), torch.tensor([4, 2, 0]))
    with pytest.raises(SeqlabError, match="one length per sequence"):
        loss(pred, label, torch.tensor([4, 2]))


@pytest.mark.parametrize("call", [
    lambda: d2l.sequence_mask(torch.ones(2, 3), torch.tensor([1, 2, 3])),
    lambda: d2l.sequence_mask(torch.ones(2, 3), torch.tensor([[1, 2]])),
    lambda: d2l.masked_softmax(torch.ones(1, 1, 3), torch.tensor([1, 2, 3])),
    lambda: d2l.masked_softmax(torch.ones(2, 1, 3), torch.tensor([1])),  # broadcast silently before
])
def test_masks_check_the_lengths_shape(call):
    with pytest.raises(SeqlabError, match="valid_len"):
        call()


def test_masked_softmax_row_of_length_zero_is_uniform_as_in_the_book():
    w = d2l.masked_softmax(torch.ones(1, 1, 3), torch.tensor([0]))  # was NaN (-inf fill)
    torch.testing.assert_close(w, torch.full((1, 1, 3), 1 / 3))
    w = d2l.masked_softmax(torch.rand(2, 2, 4), torch.tensor([[1, 3], [2, 4]]))  # the book's (B, Q) lengths
    assert torch.all(w[0, 0, 1:] == 0) and torch.all(w[0, 1, 3:] == 0) and torch.all(w[1, 1] > 0)


# --- 7-8. decoding inputs ---------------------------------------------------------------------

SRC = torch.tensor([[3, 4, 2, 0]])


@pytest.fixture(scope="module")
def attn():
    torch.manual_seed(0)
    return build_seq2seq(12, 9, embed=4, hidden=8, layers=1, attention=True).eval()


@pytest.mark.parametrize("src, lengths, bos, eos, message", [
    (SRC, torch.tensor([0]), 1, 2, r"valid lengths must be in 1\.\.4"),  # beam gave [[]], greedy NaN
    (SRC, torch.tensor([99]), 1, 2, r"valid lengths must be in 1\.\.4"),
    (torch.cat([SRC, SRC]), torch.tensor([3]), 1, 2, r"one length per source, shape \(2,\)"),
    (SRC, torch.tensor([3, 3, 3]), 1, 2, r"one length per source, shape \(1,\)"),
    (SRC, torch.tensor([3]), 1, 9, "eos id 9 is out of range for a target vocabulary of 9"),  # never ended
    (SRC, torch.tensor([3]), 9, 2, "bos id 9 is out of range"),
    (torch.tensor([[3, 12]]), torch.tensor([2]), 1, 2, r"source ids must be in 0\.\.11"),
    (torch.tensor([3, 4, 2]), torch.tensor([3]), 1, 2, r"\(batch, steps\) tensor.*unsqueeze\(0\)"),
    (torch.zeros(1, 0, dtype=torch.long), torch.tensor([1]), 1, 2, "has no steps"),
    (SRC.float(), torch.tensor([3]), 1, 2, "must hold integer token ids"),  # was cast with .long()
])
@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_decoders_check_their_inputs(attn, search, src, lengths, bos, eos, message):
    with pytest.raises(SeqlabError, match=message):
        if search == "greedy":
            greedy_decode(attn, src, lengths, bos, eos, 5)
        else:
            beam_search(attn, src, lengths, bos, eos, 3, 5)


def test_mismatched_lengths_in_training_forward():
    torch.manual_seed(0)
    src, tgt = torch.zeros(2, 4, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long)
    attn = build_seq2seq(12, 9, embed=4, hidden=8, layers=1, attention=True)
    with pytest.raises(SeqlabError, match="one length per source"):
        attn(src, tgt, torch.tensor([1]))  # broadcast silently before
    packed = build_seq2seq(12, 9, embed=4, hidden=8, layers=1, pack=True)
    with pytest.raises(SeqlabError, match="one length per source"):
        packed(src, tgt, torch.tensor([1, 2, 3]))  # "INDICES element is out of DATA bounds"


# --- 9. encoder/decoder mismatch --------------------------------------------------------------

@pytest.mark.parametrize("encoder, decoder", [
    (lambda: d2l.Seq2SeqEncoder(10, 4, 8, 2), lambda: d2l.Seq2SeqDecoder(10, 4, 8, 1)),
    (lambda: d2l.Seq2SeqEncoder(10, 4, 8, 1), lambda: d2l.Seq2SeqDecoder(10, 4, 16, 1)),
    (lambda: d2l.Seq2SeqEncoder(10, 4, 8, 1), lambda: d2l.Seq2SeqAttentionDecoder(10, 4, 16, 1)),
])
def test_encoder_decoder_mismatch_at_construction(encoder, decoder):
    with pytest.raises(SeqlabError, match="same num_layers and num_hiddens"):
        d2l.EncoderDecoder(encoder(), decoder())


def test_batch_mismatch_at_forward():
    net = d2l.EncoderDecoder(d2l.Seq2SeqEncoder(10, 4, 8, 1), d2l.Seq2SeqDecoder(10, 4, 8, 1))
    with pytest.raises(SeqlabError, match="differ in batch size"):
        net(torch.zeros(2, 5, dtype=torch.long), torch.zeros(3, 4, dtype=torch.long))


# --- 10. training and data arguments ----------------------------------------------------------

def test_train_seq2seq_arguments():
    vocab = d2l.Vocab([["go", "."]], reserved_tokens=RESERVED)
    net = _tiny_net(vocab, vocab)
    batch = (torch.tensor([[4, 5, 3]]), torch.tensor([3]), torch.tensor([[4, 5, 3]]), torch.tensor([3]))
    with pytest.raises(SeqlabError, match="num_epochs must be a positive integer"):  # IndexError
        d2l.train_seq2seq(net, [batch], 0.01, 0, vocab, "cpu")
    with pytest.raises(SeqlabError, match="no target tokens"):  # ZeroDivisionError
        d2l.train_seq2seq(net, [], 0.01, 1, vocab, "cpu")


@pytest.mark.parametrize("args, message", [
    ((2, 8, -1), "num_examples must be a positive integer"),  # DataLoader's "num_samples should be ..."
    ((0, 8), "batch_size must be a positive integer"),
    ((2, 0), "num_steps must be a positive integer"),
])
def test_load_data_nmt_arguments(args, message):
    with pytest.raises(SeqlabError, match=message):
        d2l.load_data_nmt(*args)

"""Generation: the book's predict_ch8 loop, greedy, temperature, top-k, seeds, batched prompts and
samples (== one at a time for greedy; the model's distribution for sampling), bad input."""

import collections

import numpy as np
import pytest
import torch
from torch import nn

from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError
from seqlab.generation.prefix import check_prefix
from seqlab.generation.sampling import choose, generate, generate_batch, generate_ids, next_token, predict_ch8, warm_up
from seqlab.models.lm import ModelConfig, RNNModel, build_lm

from reference_decode import book_predict_ch8  # tests/generation, on the test path


def _model(V, seed=0):
    torch.manual_seed(seed)
    return RNNModel(nn.LSTM(V, 16), V)


def test_predict_ch8_equals_the_books_loop():
    vocab = Vocab(list("the time traveller for so it will be convenient"))
    net = _model(len(vocab))
    ours = predict_ch8("time traveller", 30, net, vocab, "cpu")
    assert ours == book_predict_ch8("time traveller", 30, net, vocab, "cpu")
    assert ours.startswith("time traveller") and len(ours) == len("time traveller") + 30


def test_generation_runs_the_model_in_eval_mode_and_restores_its_mode():
    # with dropout active, two greedy runs of the same prompt would differ
    V = 12
    torch.manual_seed(0)
    net = build_lm(ModelConfig(cell="lstm", hidden=32, layers=2, embed=8, dropout=0.5), V)
    net.train()
    a = generate_batch(net, [[1, 2, 3]], 30)
    b = generate_batch(net, [[1, 2, 3]], 30)
    assert net.training  # the caller's mode is back
    net.eval()
    assert a == b == generate_batch(net, [[1, 2, 3]], 30)


def test_temperature_and_top_k():
    logits = torch.tensor([2.0, 1.0, 0.5, -1.0, 0.0])
    gen = torch.Generator().manual_seed(0)
    counts = collections.Counter(next_token(logits, 1.0, 2, gen) for _ in range(4000))
    assert set(counts) == {0, 1}  # top-2 only
    p0 = torch.softmax(torch.tensor([2.0, 1.0]), 0)[0].item()  # 0.731
    assert abs(counts[0] / 4000 - p0) < 0.03
    # T -> 0 is greedy; huge logits do not overflow (seed 004's exp(logits) would be inf)
    assert all(next_token(logits, 1e-4, None, gen) == 0 for _ in range(50))
    assert next_token(torch.tensor([1000.0, 999.0, -1000.0]), 1.0, None, gen) in (0, 1)
    hot = collections.Counter(next_token(logits, 100.0, None, gen) for _ in range(3000))
    assert len(hot) == 5  # high temperature: close to uniform


def test_sampling_is_reproducible_with_a_seed():
    vocab = Vocab(list("abcdefgh "))
    net = _model(len(vocab))
    a = generate(net, vocab, list("abc"), 40, temperature=1.0, seed=7)
    b = generate(net, vocab, list("abc"), 40, temperature=1.0, seed=7)
    c = generate(net, vocab, list("abc"), 40, temperature=1.0, seed=8)
    assert a == b and a != c and a[:3] == list("abc")
    greedy = generate_ids(net, [1, 2], 10)
    assert greedy == generate_ids(net, [1, 2], 10, top_k=1, seed=3)  # top-1 sampling is greedy


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": 0.0}, "temperature must be > 0"),
    ({"temperature": -1.0}, "temperature must be > 0"),
    ({"top_k": 0}, "top-k must be a positive"),
])
def test_bad_sampling_options(kwargs, message):
    vocab = Vocab(list("abc"))
    with pytest.raises(SeqlabError, match=message):
        generate(_model(len(vocab)), vocab, ["a"], 3, **kwargs)


def test_temperature_zero_says_how_to_ask_for_greedy_decoding():
    # other tools read temperature 0 as greedy: the refusal says that leaving it out is greedy here
    vocab = Vocab(list("abc"))
    with pytest.raises(SeqlabError, match=r"got 0\.0; for greedy decoding .* leave the temperature out$"):
        generate(_model(len(vocab)), vocab, ["a"], 3, temperature=0.0)


def test_prefix_outside_vocabulary_names_the_characters():
    vocab = Vocab(list("time traveller"))
    with pytest.raises(SeqlabError, match=r"'T', 'X'.*lower-case"):
        generate(_model(len(vocab)), vocab, list("Time TraXeller"), 3)
    with pytest.raises(SeqlabError, match="prefix is empty"):
        generate(_model(len(vocab)), vocab, [], 3)


@pytest.mark.parametrize("corpus_form, typed_form", [("NFD", "NFC"), ("NFC", "NFD")])
def test_prefix_in_another_unicode_form_says_which_form_fits(corpus_form, typed_form):
    # 'é' typed as one code point where the corpus writes e + a combining accent (or the reverse) was
    # "not in the model's vocabulary: 'é'" with nothing to say why: the two look the same
    import unicodedata

    vocab = Vocab(list(unicodedata.normalize(corpus_form, "café déjà vu")))
    prefix = list(unicodedata.normalize(typed_form, "déjà"))
    with pytest.raises(SeqlabError, match=f"Unicode form {corpus_form} fits it"):
        generate(_model(len(vocab)), vocab, prefix, 3)
    with pytest.raises(SeqlabError) as plain:  # a character the corpus lacks in any form: no such hint
        generate(_model(len(vocab)), vocab, list("zoé"), 3)
    assert "Unicode form" not in str(plain.value)


def _refusal(vocab, words):
    with pytest.raises(SeqlabError) as e:
        check_prefix(words, vocab, "word")
    return str(e.value)


def test_an_unknown_prefix_word_says_to_type_unk_where_the_model_learned_it():
    # PTB writes "<unk>" for its rare words: `--prefix "the xyzzyq company"` was refused with no word
    # on <unk>, which the model knows and which stands for an unknown word
    ptb = Vocab("the <unk> company said the <unk> rose".split())
    assert _refusal(ptb, "the xyzzyq company".split()).endswith(
        "not in the model's vocabulary: 'xyzzyq' (the model read its training text's rare words as <unk>: "
        "type <unk> in place of 'xyzzyq')")
    assert check_prefix("the <unk> company".split(), ptb, "word") == [ptb["the"], ptb.unk, ptb["company"]]
    # --min-freq 2 made the words seen once <unk> in training: the same
    assert "type <unk> in place of 'xyzzyq'" in _refusal(Vocab("the the cat said".split(), min_freq=2), ["xyzzyq"])
    # training never held <unk> (every word kept, none written): no such advice
    assert _refusal(Vocab("the cat said".split()), ["xyzzyq"]).endswith("vocabulary: 'xyzzyq'")


def test_prefix_words_with_punctuation_attached_are_spelt_as_the_corpus_writes_them():
    # WikiText writes punctuation as words of its own (and - inside a word as @-@): "The game, however,
    # was released." was refused as 'game,', 'however,', 'released.' with no hint why
    wiki = Vocab("The game , however , was released . a well @-@ known ( film ) that don 't <unk>".split())
    assert _refusal(wiki, "The game, however, was released.".split()).endswith(
        "'game,', 'however,', 'released.' (this corpus writes punctuation as separate words: 'game ,', "
        "'however ,', 'released .')")
    message = _refusal(wiki, "a well-known (film) that don't".split())
    assert message.endswith("(this corpus writes punctuation as separate words (and - inside a word as @-@): "
                            "'( film )', \"don 't\", 'well @-@ known')")
    # PTB writes no punctuation at all, and n't apart; its lower case is said as before
    ptb = Vocab("the game was n't released do <unk>".split())
    assert _refusal(ptb, "The game, wasn't released.".split()).endswith(
        "(this vocabulary is lower-case: try a lower-case prefix; this corpus writes punctuation as separate "
        "words: \"was n't\"; this corpus has no ',', '.': leave them out)")
    assert "type <unk> in place of 'gamez,'" in _refusal(ptb, ["gamez,"])  # letters it lacks: no respelling


def test_a_number_in_the_prefix_is_told_the_corpus_writes_numbers_as_n():
    # PTB writes every number N: `--prefix "in 1990 the"` was told to type <unk> for 1990
    ptb = Vocab("in N the $ N million <unk> rose N N to".split())
    assert _refusal(ptb, "in 1990 the".split()).endswith(
        "not in the model's vocabulary: '1990' (this corpus writes numbers as N: type 'N' for '1990')")
    message = _refusal(ptb, "rose 1,000 3.5 20% $5".split())
    # (PTB has no '%': 'rose N N' is its 'rose 20%', 322 times in its training text)
    assert message.endswith("(this corpus writes numbers as N: type '$ N' for '$5', 'N' for '1,000', 'N N' for "
                            "'20%', 'N' for '3.5')")
    assert "<unk>" not in message
    # WikiText has a word N and writes numbers as they are: a number it lacks is one more unknown word
    wiki = Vocab("The N 5 1 @,@ 000 <unk>".split())
    assert _refusal(wiki, ["1990"]).endswith("(the model read its training text's rare words as <unk>: type <unk> in "
                                             "place of '1990')")
    assert "'1 @,@ 000'" in _refusal(wiki, ["1,000"])


def _models(V):
    torch.manual_seed(1)
    return [_model(V), RNNModel(nn.GRU(V, 12, 2), V),
            build_lm(ModelConfig(cell="gru", impl="scratch", hidden=12), V),  # scratch cells, fast path
            build_lm(ModelConfig(cell="lstm", hidden=12, embed=6, layers=2), V)]


@pytest.mark.parametrize("which", range(4))
def test_batched_greedy_equals_one_prompt_at_a_time(which):
    V = 11
    net = _models(V)[which]
    prefixes = [[3, 1, 4, 1, 5], [9], [2, 6], [5, 3, 5, 8, 9, 7, 9], [1, 2]]  # different lengths
    together = generate_batch(net, prefixes, 25, num_samples=2)
    alone = [generate_ids(net, p, 25) for p in prefixes]
    assert together == [ids for ids in alone for _ in range(2)]  # prefix-major, greedy samples agree
    assert generate_batch(net, prefixes, 25, top_k=1, seed=0) == alone  # top-1 sampling is greedy
    assert generate_batch(net, prefixes, 0) == prefixes
    longer = [p for p in prefixes if len(p) >= 2]  # a warm-up call of 2 ids for every row
    assert generate_batch(net, longer, 25) == [ids for p, ids in zip(prefixes, alone) if len(p) >= 2]


def test_batched_samples_are_reproducible_and_differ():
    net = _model(9)
    a = generate_batch(net, [[1, 2, 3], [4]], 30, num_samples=3, temperature=1.0, seed=11)
    assert a == generate_batch(net, [[1, 2, 3], [4]], 30, num_samples=3, temperature=1.0, seed=11)
    assert a != generate_batch(net, [[1, 2, 3], [4]], 30, num_samples=3, temperature=1.0, seed=12)
    assert [r[:3] for r in a[:3]] == [[1, 2, 3]] * 3 and [r[:1] for r in a[3:]] == [[4]] * 3
    assert [len(r) for r in a] == [33] * 3 + [31] * 3
    assert len({tuple(r) for r in a[:3]}) == 3  # three different samples of the same prompt


def test_batched_first_samples_follow_the_models_distribution():
    V, n = 5, 4000
    net = _model(V, seed=2)
    logits, _ = warm_up(net, [1, 3, 2], "cpu")
    p = torch.softmax(logits.double() / 0.8, dim=0)
    rows = generate_batch(net, [[1, 3, 2]], 1, num_samples=n, temperature=0.8, seed=0)
    counts = collections.Counter(r[-1] for r in rows)
    for v in range(V):  # 4000 draws: 3 standard errors are at most 0.024
        assert abs(counts[v] / n - float(p[v])) < 0.03


def test_choose_samples_each_row_from_its_own_top_k():
    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0], [-1.0, 0.5, 1.0, 2.0]]).repeat(2000, 1)  # (4000, 4)
    picks = choose(logits, 1.0, 2, torch.Generator().manual_seed(0)).view(2000, 2)
    p = torch.softmax(torch.tensor([2.0, 1.0]), 0)[0].item()
    assert set(picks[:, 0].tolist()) == {0, 1} and set(picks[:, 1].tolist()) == {2, 3}
    assert abs((picks[:, 0] == 0).float().mean().item() - p) < 0.03
    assert abs((picks[:, 1] == 3).float().mean().item() - p) < 0.03
    assert choose(logits[:2]).tolist() == [0, 3]


@pytest.mark.parametrize("prefixes, kwargs, message", [
    ([[1], []], {}, "prefix is empty"),
    ([], {}, "none was given"),
    ([[1]], {"num_samples": 0}, "number of samples must be at least 1"),
    ([[1]], {"num_tokens": -1}, "must be >= 0"),
])
def test_bad_batch_requests(prefixes, kwargs, message):
    kwargs = {"num_tokens": 3, **kwargs}
    with pytest.raises(SeqlabError, match=message):
        generate_batch(_model(4), prefixes, kwargs.pop("num_tokens"), **kwargs)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_cuda_batched_equals_one_at_a_time_and_seeds_repeat():
    net = _model(9).cuda()
    prefixes = [[1, 2, 3], [4], [5, 6, 7, 8, 1]]
    assert generate_batch(net, prefixes, 20) == [generate_ids(net, p, 20) for p in prefixes]
    a = generate_batch(net, prefixes, 20, num_samples=4, temperature=1.0, seed=3)
    assert a == generate_batch(net, prefixes, 20, num_samples=4, temperature=1.0, seed=3)


@pytest.mark.parametrize("temperature", [1e-320, 5e-324, 1e-30])
def test_a_tiny_temperature_samples_the_arg_max(temperature):
    # logits / T overflowed to inf even in float64 (1e-320): NaN probabilities, a RuntimeError from
    # torch.multinomial; the limit T -> 0 of the softmax is the arg-max
    logits = torch.tensor([[0.5, 3.0, -1.0, 2.9], [100.0, -100.0, 99.0, 0.0]])
    gen = torch.Generator().manual_seed(0)
    assert choose(logits, temperature=temperature, generator=gen).tolist() == [1, 0]
    assert choose(logits, temperature=temperature, top_k=2, generator=gen).tolist() == [1, 0]


def test_top_p_samples_from_the_nucleus():
    # probabilities 1/2, 1/4, 5/32, 3/32 (exact in binary), columns shuffled per row: the nucleus is
    # found in sorted order and put back where each token is
    probs = torch.tensor([0.5, 0.25, 0.15625, 0.09375], dtype=torch.float64)
    perm = torch.tensor([2, 0, 3, 1])  # row 1: token j of row 0 sits at column perm[j]
    rows = torch.stack([probs.log(), torch.empty(4, dtype=torch.float64).scatter_(0, perm, probs.log())])
    logits = rows.repeat(2000, 1)  # (4000, 4)
    for top_p, kept in ((0.75, [0, 1]), (0.8, [0, 1, 2]), (0.5, [0]), (1e-9, [0])):
        picks = choose(logits, top_p=top_p, generator=torch.Generator().manual_seed(1)).view(2000, 2)
        assert set(picks[:, 0].tolist()) == set(kept)
        assert set(picks[:, 1].tolist()) == {int(perm[j]) for j in kept}
        for j in kept:  # renormalised over the nucleus; 2000 draws: 3 standard errors < 0.034
            share = float(probs[j] / probs[kept].sum())
            assert abs((picks[:, 0] == j).double().mean().item() - share) < 0.035
    gen_a, gen_b = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(choose(logits, 1.0, generator=gen_a), choose(logits, 1.0, generator=gen_b, top_p=1.0))
    # after top-k: the nucleus of the two kept tokens (2/3, 1/3) at p = 0.6 is the first alone
    assert set(choose(logits[:2], top_k=2, top_p=0.6).tolist()) == {0, int(perm[0])}


def test_top_p_in_generate_and_its_bounds():
    net = _model(9)
    greedy = generate_ids(net, [1, 2], 10)
    assert greedy == generate_ids(net, [1, 2], 10, top_p=1e-9, seed=3)  # a nucleus of one token is greedy
    a = generate_ids(net, [1, 2], 10, temperature=1.5, top_p=0.9, seed=3)
    assert a == generate_ids(net, [1, 2], 10, temperature=1.5, top_p=0.9, seed=3) != greedy
    for bad in (0.0, 1.5, -0.1, float("nan"), True):
        with pytest.raises(SeqlabError, match="top-p must be in \\(0, 1\\]"):
            generate_ids(net, [1], 3, top_p=bad)


def test_a_seeded_sample_is_the_same_whatever_the_number_of_samples_or_tokens():
    # the batch drew from one generator, interleaved across rows: sample 1 of --num-samples 3 was
    # another text than --num-samples 1's (nanoGPT's sample.py draws one sample after another)
    net = _model(9, seed=4)
    one = generate_batch(net, [[1, 2]], 12, temperature=1.0, seed=5)
    three = generate_batch(net, [[1, 2]], 12, num_samples=3, temperature=1.0, top_k=6, seed=5)
    assert generate_batch(net, [[1, 2]], 12, num_samples=3, temperature=1.0, seed=5)[0] == one[0]
    longer = generate_batch(net, [[1, 2]], 30, num_samples=3, temperature=1.0, top_k=6, seed=5)
    assert [row[:14] for row in longer] == three
    assert len({tuple(r) for r in three}) == 3  # the samples do not share their draws
    two_prompts = generate_batch(net, [[1, 2], [3]], 12, num_samples=3, temperature=1.0, top_k=6, seed=5)
    assert two_prompts[:3] == three


def test_choose_from_uniforms_inverts_each_rows_distribution():
    # probabilities 0.5, 0.3, 0.2: the cumulative 0.5, 0.8, 1; u in [0, 0.5) -> 0, [0.5, 0.8) -> 1, ...
    logits = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64).log().repeat(5, 1)
    u = torch.tensor([0.0, 0.4999, 0.5, 0.79, 0.99], dtype=torch.float64)
    assert choose(logits, 1.0, uniforms=u).tolist() == [0, 0, 1, 1, 2]
    # a number that rounds up to the row's total still picks a kept token, never one top-k left out
    near_one = torch.full((5,), 1 - 2 ** -53, dtype=torch.float64)
    assert choose(logits, 1.0, top_k=2, uniforms=near_one).tolist() == [1] * 5
    assert choose(logits, top_p=0.4, uniforms=near_one).tolist() == [0] * 5



def test_a_capitalised_word_with_punctuation_is_spelt_lower_case():
    # 'Yesterday,' fell through to "type <unk>" though yesterday and , are words of the corpus
    wiki = Vocab("yesterday , the company said do n't don 't".split())
    message = _refusal(wiki, "Yesterday, the company said".split())
    assert "this vocabulary is lower-case" in message and "'yesterday ,'" in message and "<unk>" not in message
    assert repr("don 't") in _refusal(Vocab("don 't the".split()), ["don\u2019t"])  # a typographic apostrophe


def test_generation_refuses_non_finite_logits_naming_them():
    # the inverse-CDF draw of a NaN row gave id V: 'token id 9 is out of range', a wrong diagnosis
    net = _model(9)
    with torch.no_grad():
        net.linear.bias.fill_(float("nan"))
    for kwargs in ({"temperature": 1.0, "seed": 1}, {}):
        with pytest.raises(SeqlabError, match="the model's output is not finite"):
            generate_batch(net, [[1, 2]], 4, **kwargs)


def test_a_numpy_seed_is_an_integer_seed():
    net = _model(9)
    a = generate_batch(net, [[1, 2]], 6, num_samples=2, temperature=1.0, seed=np.int64(3))
    assert a == generate_batch(net, [[1, 2]], 6, num_samples=2, temperature=1.0, seed=3)
    with pytest.raises(SeqlabError, match="the seed must be an integer"):
        generate_batch(net, [[1, 2]], 6, temperature=1.0, seed=2.5)



def test_a_word_in_another_letter_case_of_a_cased_corpus_is_named():
    # WikiText keeps case: 'GAME' was told "this vocabulary is lower-case", 'valkyria' to type <unk>
    wiki = Vocab("The Game <unk> game Valkyria $ 5 ,".split())
    message = _refusal(wiki, ["GAME", "valkyria"])
    assert "in the vocabulary's letter case: 'game' for 'GAME', 'Valkyria' for 'valkyria'" in message
    assert "lower-case" not in message and "<unk>" not in message
    assert repr("$ 5") in _refusal(wiki, ["$5"])


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": 0.0}, "temperature must be > 0"),  # was T = 1 (`temperature or 1.0`); generate refuses 0 too
    ({"temperature": -1.0}, "temperature must be > 0"),  # was the distribution reversed
    ({"top_k": 0}, "top-k must be a positive integer"),  # 0, -1, 2.5: torch errors
    ({"top_k": -1}, "top-k must be a positive integer"),
    ({"top_k": 2.5}, "top-k must be a positive integer"),
    ({"top_p": 0.0}, r"top-p must be in \(0, 1\]"),
    ({"top_p": -0.5}, r"top-p must be in \(0, 1\]"),
    ({"top_p": 1.5}, r"top-p must be in \(0, 1\]"),  # was accepted
])
def test_choose_and_next_token_check_the_sampling_options_as_generate_does(kwargs, message):
    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0]])
    with pytest.raises(SeqlabError, match=message):
        choose(logits, **kwargs)
    with pytest.raises(SeqlabError, match=message):
        next_token(logits[0], **kwargs)
    with pytest.raises(SeqlabError, match=message):
        generate_batch(_model(4), [[1]], 2, **kwargs)


def test_choose_and_next_token_check_the_logits_shape():
    row = torch.tensor([2.0, 1.0, 0.5])
    for kwargs in ({}, {"temperature": 1.0}):  # greedy gave a 0-d tensor, sampling an IndexError
        with pytest.raises(SeqlabError, match=r"shape \(N, V\).*got \(3,\).*next_token"):
            choose(row, **kwargs)
        with pytest.raises(SeqlabError, match=r"shape \(V,\), got \(1, 3\).*choose"):
            next_token(row[None], **kwargs)
    assert choose(row[None]).tolist() == [0] and next_token(row) == 0


@pytest.mark.parametrize("prefixes, message", [
    ([[1.9, 2.7]], r"token ids must be integers, got 1\.9 \(float\)"),  # was [[1, 2]]: truncated
    ([[True, 2]], r"token ids must be integers, got True \(bool\)"),
    ([torch.tensor([1.5, 2.0])], r"token ids must be integers, got 1\.5"),
    ([1, 2, 3], r"a list of prefixes.*got 1 where a prefix belongs.*\[prefix\]"),  # was TypeError
    ([[1, 2], "ab"], r"a list of prefixes.*got 'ab' where a prefix belongs"),
])
def test_generate_batch_refuses_ids_that_are_not_integers_and_a_batch_that_is_one_prefix(prefixes, message):
    with pytest.raises(SeqlabError, match=message):
        generate_batch(_model(4), prefixes, 3)


def test_prefixes_as_tensors_or_numpy_ids_generate_as_lists_do():
    net = _model(6)
    ids = generate_batch(net, [[1, 2, 3], [4]], 5)
    assert generate_batch(net, [torch.tensor([1, 2, 3]), np.array([4])], 5) == ids
    assert generate_batch(net, [[np.int64(1), 2, 3], [4]], 5) == ids


def test_warm_up_says_the_prefix_is_empty():
    net = _model(4)
    with pytest.raises(SeqlabError, match="the prefix is empty"):  # was "must be integers ... torch.float32"
        warm_up(net, [])
    with pytest.raises(SeqlabError, match="token ids must be integers, got 1.5"):
        warm_up(net, [1.5])
    logits, _ = warm_up(net, torch.tensor([1, 2]))
    assert torch.equal(logits, warm_up(net, [1, 2])[0])

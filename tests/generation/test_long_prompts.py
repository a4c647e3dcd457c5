"""Generation at user scale (review r-infer, findings 1 and 2): a long prompt is warmed up in calls of at most
WARM_UP_CHUNK ids, each distinct prompt once, and prompts of different lengths each on their own length; the
ids are those of the whole-prompt, lock-step loop the code had before (`generate_batch_ref`, its twin), for
char and word models, greedy and seeded, with states that are a tensor, a tuple or a nested list. A user's
state without a clear batch dimension falls back to the lock-step loop; `generate_stream` gives the same ids
as they come."""

import math

import pytest
import torch
from torch import nn

from seqlab.d2l import RNNModelScratch, get_lstm_params, init_lstm_state, lstm
from seqlab.errors import SeqlabError
from seqlab.generation.sampling import WARM_UP_CHUNK, generate_batch, generate_ids, generate_stream, warm_up
from seqlab.models.lm import ModelConfig, RNNModel, build_lm

from reference_decode import generate_batch_ref  # tests/generation, on the test path

pytestmark = pytest.mark.usefixtures("one_thread")


class Recording(nn.Module):
    """A model as it is, recording each call's ids shape (B, T) and the rows of logits it returned."""

    def __init__(self, net):
        super().__init__()
        self.net, self.calls = net, []

    def begin_state(self, batch_size=1, device=None):
        return self.net.begin_state(batch_size=batch_size, device=device)

    def forward(self, X, state):
        logits, state = self.net(X, state)
        self.calls.append((tuple(X.shape), logits.shape[:-1].numel()))
        return logits, state


def _nets():
    """(name, vocabulary size, model): char models (one-hot, V 28) and word models (an embedding, V 3000);
    states: (L, B, H) tensors in a tuple, a tensor, the book's (B, H) tuple, a list of per-layer tuples."""
    torch.manual_seed(0)
    return [("char lstm", 28, RNNModel(nn.LSTM(28, 32), 28)),
            ("char gru scratch", 28, build_lm(ModelConfig(cell="gru", impl="scratch", hidden=24), 28)),
            ("char book scratch", 28, RNNModelScratch(28, 24, "cpu", get_lstm_params, init_lstm_state, lstm)),
            ("word lstm", 3000, build_lm(ModelConfig(cell="lstm", hidden=32, embed=16, layers=2), 3000)),
            ("word awd", 3000, build_lm(ModelConfig(cell="lstm", hidden=24, embed=16, layers=2, weight_drop=0.2,
                                                    dropout_output=0.1), 3000))]


NETS = _nets()


def _prompts(V, lengths, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, V, (n,), generator=g).tolist() for n in lengths]


@pytest.mark.parametrize("which", range(len(NETS)), ids=[n for n, _, _ in NETS])
@pytest.mark.parametrize("sampling", [{}, dict(temperature=1.0, seed=3), dict(top_k=5, top_p=0.9, seed=11)])
def test_the_chunked_joined_warm_up_generates_the_ids_of_the_whole_prompt_lock_step_loop(which, sampling):
    # a prompt past two chunks, a short one, the long one again (warmed once) and one of the short's length
    _, V, net = NETS[which]
    long, short, other = _prompts(V, [2 * WARM_UP_CHUNK + 77, 3, 3])
    prefixes = [long, short, long, other]
    samples = 2 if sampling else 1
    got = generate_batch(net, prefixes, 9, num_samples=samples, **sampling)
    assert got == generate_batch_ref(net, prefixes, 9, num_samples=samples, **sampling)
    assert [len(r) for r in got] == [len(p) + 9 for p in prefixes for _ in range(samples)]


def test_no_call_reads_more_than_a_chunk_of_ids_or_returns_more_logits_whatever_the_prompt():
    # the whole prompt in one call, once per sample, returned (len * samples, V) logits: 133 KB per word of a
    # 33k-word vocabulary per sample (13 GB for a 100k-word prompt); now at most WARM_UP_CHUNK rows a call
    _, V, word = NETS[3]
    net = Recording(word)
    prompt = _prompts(V, [6 * WARM_UP_CHUNK + 5])[0]
    got = generate_batch(net, [prompt], 4, num_samples=4, temperature=1.0, seed=0)
    assert got == generate_batch_ref(word, [prompt], 4, num_samples=4, temperature=1.0, seed=0)
    assert max(b * t for (b, t), _ in net.calls) <= WARM_UP_CHUNK
    assert max(rows for _, rows in net.calls) <= WARM_UP_CHUNK
    warm = [c for c in net.calls if c[0][1] > 1]  # the prompt, read once for the four samples
    assert [c[0] for c in warm] == [(1, WARM_UP_CHUNK)] * 6 + [(1, 5)] and len(net.calls) == 7 + 3  # + one call per new id
    net.calls.clear()
    logits, _ = warm_up(net, prompt)
    assert max(rows for _, rows in net.calls) <= WARM_UP_CHUNK and len(net.calls) == 7
    with torch.no_grad():
        whole, _ = word(torch.tensor([prompt]), word.begin_state(batch_size=1))
    assert torch.allclose(logits, whole[-1], atol=1e-6)


def test_prompts_of_different_lengths_warm_up_each_on_its_own_length_not_one_id_a_call():
    # one short prompt beside a long one made every later position of the long one a call of its own (16-56x
    # slower than separate calls); now each prompt warms up alone and the batch starts from the joined states
    name, V, word = NETS[3]
    net = Recording(word)
    long, short, mid = _prompts(V, [4 * WARM_UP_CHUNK, 1, WARM_UP_CHUNK + 1], seed=1)
    got = generate_batch(net, [long, short, mid], 6)
    assert got == [generate_ids(word, p, 6) for p in (long, short, mid)]  # each alone
    assert got == generate_batch_ref(word, [long, short, mid], 6)
    warm_calls = math.ceil(len(long) / WARM_UP_CHUNK) + 1 + math.ceil(len(mid) / WARM_UP_CHUNK)
    assert len(net.calls) == warm_calls + 5  # (was 1 + 4 * 512 + 5: one call per position past the shortest)
    seeded = dict(num_samples=3, temperature=0.9, seed=4)
    assert generate_batch(net, [long, short, mid], 6, **seeded) == generate_batch_ref(word, [long, short, mid], 6,
                                                                                      **seeded)


def test_a_bidirectional_model_still_reads_one_id_a_call_as_the_books_loop():
    torch.manual_seed(2)
    net = build_lm(ModelConfig(cell="gru", impl="fused", hidden=8, bidirectional=True), 11)
    prefixes = _prompts(11, [7, 2, 7], seed=3)
    for sampling in ({}, dict(temperature=1.0, seed=1, num_samples=2)):
        assert generate_batch(net, prefixes, 5, **sampling) == generate_batch_ref(net, prefixes, 5, **sampling)


class _FlatState(nn.Module):
    """A user's GRU LM whose state is kept flat, (B*H,), or with a step count beside it (a 0-d tensor): no
    dimension of it is the batch's alone, so rows cannot be joined; `twin` runs it with an (1, B, H) state."""

    def __init__(self, kind, twin=False):
        super().__init__()
        torch.manual_seed(0)
        self.kind, self.twin = kind, twin
        self.emb, self.rnn, self.out = nn.Embedding(9, 6), nn.GRU(6, 5, batch_first=True), nn.Linear(5, 9)

    def begin_state(self, batch_size=1, device=None):
        h = torch.zeros(1, batch_size, 5, device=device)
        if self.twin:
            return h
        return h.reshape(-1) if self.kind == "flat" else (h, torch.zeros((), device=device))

    def forward(self, X, state):
        h = state if self.twin else state.reshape(1, X.shape[0], 5) if self.kind == "flat" else state[0]
        Y, h = self.rnn(self.emb(X), h)
        logits = self.out(Y).transpose(0, 1).reshape(-1, 9)
        if self.twin:
            return logits, h
        return logits, (h.reshape(-1) if self.kind == "flat" else (h, state[1] + 1))


@pytest.mark.parametrize("kind", ["flat", "counter"])
def test_a_state_without_a_batch_dimension_falls_back_to_the_lock_step_loop(kind):
    net, twin = Recording(_FlatState(kind)), _FlatState(kind, twin=True)
    prefixes = [[1, 2, 3, 4, 5], [6], [1, 2, 3, 4, 5]]
    for sampling in ({}, dict(temperature=1.0, seed=2, num_samples=2)):
        net.calls.clear()
        got = generate_batch(net, prefixes, 6, **sampling)
        assert got == generate_batch_ref(twin, prefixes, 6, **sampling) == generate_batch(twin, prefixes, 6, **sampling)
        rows = 3 * sampling.get("num_samples", 1)
        assert {b for (b, _), _ in net.calls} == {rows}  # all rows together, one id a call (the shortest is 1)
    # one prompt, one sample: nothing to join, so even this model's long prompt is read in chunks
    net.calls.clear()
    long = _prompts(9, [3 * WARM_UP_CHUNK], seed=5)[0]
    assert generate_ids(net, long, 3) == generate_batch_ref(twin, [long], 3)[0]
    assert max(t for (_, t), _ in net.calls) == WARM_UP_CHUNK and len(net.calls) == 3 + 2
    net.calls.clear()  # several samples of it: lock step, still in chunks of at most WARM_UP_CHUNK ids
    assert generate_batch(net, [long], 3, num_samples=4, top_k=3, seed=0) == generate_batch_ref(
        twin, [long], 3, num_samples=4, top_k=3, seed=0)
    assert max(b * t for (b, t), _ in net.calls) <= WARM_UP_CHUNK


@pytest.mark.parametrize("user_state", [False, True])
def test_generate_stream_gives_the_batchs_ids_every_so_many_steps(user_state):
    net, V = (_FlatState("flat"), 9) if user_state else (NETS[0][2], 28)  # the lock-step path, the joined one
    prefixes = _prompts(V, [5, 1, 3], seed=6)
    kwargs = dict(num_samples=2, temperature=1.2, seed=9)
    whole = generate_batch(net, prefixes, 23, **kwargs)
    chunks = list(generate_stream(net, prefixes, 23, every=5, **kwargs))
    assert all(len(c) == 6 for c in chunks)  # one list per row
    rows = [p + [t for c in chunks for t in c[i]] for i, p in enumerate(p for p in prefixes for _ in range(2))]
    assert rows == whole
    if not user_state:  # every row's next 5 ids each time, the last 3 at the end
        assert [{len(ids) for ids in c} for c in chunks] == [{5}] * 4 + [{3}]
    assert list(generate_stream(net, prefixes, 0)) == []


def test_generate_stream_checks_its_arguments_at_once_and_refuses_non_finite_logits_before_any_ids():
    net = RNNModel(nn.LSTM(9, 8), 9)
    with pytest.raises(SeqlabError, match="temperature must be > 0"):
        generate_stream(net, [[1]], 3, temperature=0.0)  # (not at the first next())
    with pytest.raises(SeqlabError, match="every must be a positive integer"):
        generate_stream(net, [[1]], 3, every=0)
    with torch.no_grad():
        net.linear.bias.fill_(float("nan"))
    stream = generate_stream(net, [[1, 2]], 300, every=4)
    with pytest.raises(SeqlabError, match="the model's output is not finite"):
        next(stream)

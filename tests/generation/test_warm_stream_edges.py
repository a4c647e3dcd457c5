"""Edges of the chunked warm-up and of generate_stream that the twins in test_long_prompts.py did not pin (a hand
mutation audit, session 28): each test here failed with one small change to warm.py or sampling.py that all the
other generation tests passed. The twins: the whole prompt in one call, generate_batch's ids, and chunk sizes
worked out by hand."""

import pytest
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.generation.sampling import WARM_UP_CHUNK, generate_batch, generate_stream, warm_up
from seqlab.generation.warm import feed
from seqlab.models.lm import ModelConfig, build_lm

from reference_decode import generate_batch_ref  # tests/generation, on the test path
from test_long_prompts import Recording, _FlatState, _prompts

pytestmark = pytest.mark.usefixtures("one_thread")


def test_a_bidirectional_models_warm_up_reads_a_long_prompt_in_one_call():
    # its right-to-left pass reads the whole prompt: in chunks of WARM_UP_CHUNK ids it would read each chunk
    # alone, and the logits after the last id are not those of the prompt
    torch.manual_seed(0)
    net = Recording(build_lm(ModelConfig(cell="gru", impl="fused", hidden=8, bidirectional=True), 11))
    net.num_directions = 2
    prompt = _prompts(11, [WARM_UP_CHUNK + 40], seed=2)[0]
    logits, _ = warm_up(net, prompt)
    assert [shape for shape, _ in net.calls] == [(1, len(prompt))]
    with torch.no_grad():
        whole, _ = net.net(torch.tensor([prompt]), net.begin_state(batch_size=1))
    assert torch.equal(logits, whole[-1])


def test_the_warm_ups_logits_hold_the_last_steps_rows_not_the_calls():
    # feed keeps a copy of the last step's (rows, V) logits, so that a call's (steps*rows, V) can go before the
    # next call (a view kept the whole call's logits: 512 x 33k floats, 67 MB, alive through the next call)
    torch.manual_seed(0)
    V = 3000
    net = build_lm(ModelConfig(cell="lstm", hidden=8, embed=4), V)
    X = torch.tensor(_prompts(V, [WARM_UP_CHUNK + 3] * 2, seed=1))
    with torch.no_grad():
        last, _ = feed(net, X, net.begin_state(batch_size=2))
        whole, _ = net(X, net.begin_state(batch_size=2))
    assert torch.allclose(last, whole.reshape(X.shape[1], 2, V)[-1], atol=1e-6)
    assert last.untyped_storage().nbytes() == 2 * V * last.element_size()
    logits, _ = warm_up(net, X[0].tolist())
    assert logits.untyped_storage().nbytes() == V * logits.element_size()


def test_the_same_prompt_twice_one_sample_each_gives_each_its_own_row():
    # one length, one distinct prompt, two rows: the rows must be joined (the one warmed-up row repeated)
    torch.manual_seed(0)
    net = build_lm(ModelConfig(cell="lstm", hidden=16, embed=8, layers=2), 50)
    p, q = _prompts(50, [9, 9], seed=3)
    for prefixes in ([p, p], [p, q, p], [q, p, p, q]):
        for sampling in ({}, dict(temperature=1.0, seed=5)):
            assert generate_batch(net, prefixes, 6, **sampling) == generate_batch_ref(net, prefixes, 6, **sampling)


def _sizes(chunks):
    return [sorted({len(ids) for ids in chunk}) for chunk in chunks]


def test_the_lock_step_stream_gives_every_steps_ids_even_after_a_prompt_longer_than_every():
    # a user's state without a batch dimension runs in lock step, from column m (the prompt's length): the
    # first list comes `every` columns after it, not only at the end when the prompt is longer than `every`
    net = _FlatState("flat")
    prompt = _prompts(9, [7], seed=4)[0]
    kwargs = dict(num_samples=2, temperature=1.0, seed=1)
    chunks = list(generate_stream(net, [prompt], 10, every=3, **kwargs))
    assert _sizes(chunks) == [[3], [3], [3], [1]]
    whole = generate_batch(net, [prompt], 10, **kwargs)
    assert [prompt + [t for c in chunks for t in c[i]] for i in range(2)] == whole


def test_generate_stream_gives_a_list_every_128_steps_by_default():
    # the documented default: a long sample reaches the host as it grows, not once at the end
    torch.manual_seed(0)
    net = build_lm(ModelConfig(cell="gru", hidden=8), 9)
    chunks = list(generate_stream(net, [[1, 2]], 300))
    assert _sizes(chunks) == [[128], [128], [44]]
    assert [[1, 2] + [t for c in chunks for t in c[0]]] == generate_batch(net, [[1, 2]], 300)


def test_the_lock_step_warm_up_reads_the_shortest_prompt_in_chunks_not_one_id_a_call():
    # lock step feeds every row the first m ids (m the shortest prompt's length) as a warm-up, in calls of at
    # most WARM_UP_CHUNK ids, then one column a call: (m = 1 made a 1,536-id prompt 1,536 calls)
    net = Recording(_FlatState("flat"))
    long = _prompts(9, [3 * WARM_UP_CHUNK], seed=5)[0]
    generate_batch(net, [long], 3, num_samples=4, top_k=3, seed=0)
    rows = 4
    assert [shape for shape, _ in net.calls] == [(rows, WARM_UP_CHUNK // rows)] * 12 + [(rows, 1)] * 2


class _Squeezed(nn.Module):
    """A user's GRU LM whose begin_state is (1, B, H), as nn.GRU takes it, but whose forward returns the state
    squeezed to (B, H) (and takes either): after a call the batch is in dimension 0, not 1."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb, self.rnn, self.out = nn.Embedding(9, 6), nn.GRU(6, 5, batch_first=True), nn.Linear(5, 9)

    def begin_state(self, batch_size=1, device=None):
        return torch.zeros(1, batch_size, 5, device=device)

    def forward(self, X, state):
        Y, h = self.rnn(self.emb(X), state.reshape(1, X.shape[0], 5))
        return self.out(Y).transpose(0, 1).reshape(-1, 9), h.squeeze(0)


def test_a_state_of_another_shape_after_a_call_is_not_joined_on_begin_states_batch_dimension():
    # begin_state says the batch is dimension 1; the warmed-up states have it in dimension 0. Joined in
    # dimension 1 they mixed hidden units of different rows: such a model runs in lock step instead
    net = _Squeezed()
    prefixes = [[1, 2, 3, 4, 5], [6], [1, 2, 3, 4, 5], [7, 8]]
    for sampling in ({}, dict(temperature=1.0, seed=2, num_samples=2)):
        assert generate_batch(net, prefixes, 6, **sampling) == generate_batch_ref(net, prefixes, 6, **sampling)


def test_generate_batch_brings_the_ids_to_the_host_once_whatever_their_number(monkeypatch):
    # generate_batch reads generate_stream's ids at the end only (every=None): one host copy, one finiteness
    # read, not one per step (each a device sync on a GPU). Counted on the CPU at the finiteness read.
    import seqlab.generation.sampling as sampling

    reads, check = [], sampling._check_finite
    monkeypatch.setattr(sampling, "_check_finite", lambda finite: reads.append(1) or check(finite))
    torch.manual_seed(0)
    for net in (build_lm(ModelConfig(cell="gru", hidden=8), 9), _FlatState("flat")):  # joined, lock step
        reads.clear()
        generate_batch(net, [[1, 2, 3], [4]], 40, num_samples=2, temperature=1.0, seed=0)
        assert len(reads) == 1


def test_the_lock_step_path_refuses_non_finite_logits_too():
    # the joined path's refusal is pinned in test_long_prompts.py; a state without a batch dimension and a
    # bidirectional model run in lock step, which must refuse a diverged model as well, not give its ids
    torch.manual_seed(0)
    bidirectional = build_lm(ModelConfig(cell="gru", impl="fused", hidden=8, bidirectional=True), 9)
    for net, head in ((_FlatState("flat"), "out"), (bidirectional, "linear")):
        with torch.no_grad():
            getattr(net, head).bias.fill_(float("nan"))
        for sampling in ({}, dict(temperature=1.0, seed=0)):
            with pytest.raises(SeqlabError, match="the model's output is not finite"):
                generate_batch(net, [[1, 2, 3], [4]], 5, num_samples=2, **sampling)


def test_more_distinct_prompts_of_one_length_than_a_chunk_warm_up_one_step_a_call():
    # 600 rows, more than WARM_UP_CHUNK ids a step: each call reads one step of every row (600 ids), as feed
    # documents; 512 // 600 = 0 steps a call was a ValueError from range()
    torch.manual_seed(0)
    net = Recording(build_lm(ModelConfig(cell="gru", hidden=8, embed=4), 30))
    prefixes = [[a, b, (a + b) % 30] for a in range(30) for b in range(20)]
    got = generate_batch(net, prefixes, 2)
    assert got == generate_batch_ref(net.net, prefixes, 2)
    assert [shape for shape, _ in net.calls] == [(600, 1)] * 3 + [(600, 1)]


def test_a_bidirectional_model_streams_no_empty_lists_while_its_prompt_is_read():
    # lock step reads a bidirectional model's prompt one id a call: every `every` steps inside the prompt
    # gave a list of empty rows, as if the sample had stopped growing
    torch.manual_seed(0)
    net = build_lm(ModelConfig(cell="gru", impl="fused", hidden=8, bidirectional=True), 11)
    prompt = _prompts(11, [300], seed=3)[0]
    kwargs = dict(num_samples=2, temperature=1.0, seed=0)
    chunks = list(generate_stream(net, [prompt], 200, every=128, **kwargs))
    assert _sizes(chunks) == [[85], [115]]  # after 129 and 257 ids: inside the prompt; 385: 85 ids; the end
    whole = generate_batch(net, [prompt], 200, **kwargs)
    assert [prompt + chunks[0][i] + chunks[1][i] for i in range(2)] == whole

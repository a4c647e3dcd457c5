"""The regularised LM (AWD-LSTM options): each option acts in training and not in eval."""

import pytest
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.lm import ModelConfig, RegularizedRNNModel, RNNModel, build_lm, describe, layer_sizes
from seqlab.models.regularization import WeightDrop
from seqlab.training.lm_eval import evaluate_lm

V = 11


def _awd(**kw):
    torch.manual_seed(0)
    args = dict(cell="lstm", impl="fused", vocab_size=V, embed_size=6, hidden=6, layers=2)
    args.update(kw)
    return RegularizedRNNModel(**args).double()


def _reference(net: RegularizedRNNModel) -> RNNModel:
    """The same weights in the book's concise model over one 2-layer nn.LSTM."""
    lstm = nn.LSTM(6, 6, 2).double()
    with torch.no_grad():
        for k, layer in enumerate(net.rnns):
            inner = layer.module if isinstance(layer, WeightDrop) else layer
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(lstm, f"{name}_l{k}").copy_(getattr(inner, f"{name}_l0"))
    ref = RNNModel(lstm, V, embed_size=6).double()
    with torch.no_grad():
        ref.embedding.weight.copy_(net.embedding.weight)
        ref.linear.weight.copy_(net.linear.weight)
        ref.linear.bias.copy_(net.linear.bias)
    return ref.eval()


def test_eval_mode_is_the_plain_stacked_lstm():
    # every regulariser on, yet in eval the model computes exactly a 2-layer nn.LSTM LM
    net = _awd(dropout_input=0.3, dropout_hidden=0.3, dropout_output=0.4, dropout_embed=0.2,
               weight_drop=0.5).eval()
    ref = _reference(net)
    X = torch.randint(0, V, (3, 7))
    out, state = net(X, net.begin_state(3))
    out_ref, (h, c) = ref(X, ref.begin_state(3))
    torch.testing.assert_close(out, out_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(torch.cat([s[0] for s in state]), h, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(torch.cat([s[1] for s in state]), c, rtol=1e-12, atol=1e-12)


def test_weight_drop_active_in_training_absent_in_eval():
    net = _awd(weight_drop=0.5)
    ref = _reference(net)
    X = torch.randint(0, V, (2, 5))
    net.train()
    a, _ = net(X, None)
    b, _ = net(X, None)
    assert not torch.allclose(a, b)  # a new DropConnect mask each forward pass
    # the training pass equals the plain LSTM run on weights whose hidden-to-hidden
    # entries were dropped with the same mask (recreated from the same seed)
    torch.manual_seed(5)
    got, _ = net(X, None)
    torch.manual_seed(5)
    masks = [torch.nn.functional.dropout(torch.ones_like(layer.module.weight_hh_l0), 0.5) for layer in net.rnns]
    with torch.no_grad():
        for k, m in enumerate(masks):
            getattr(ref.rnn, f"weight_hh_l{k}").mul_(m)
    want, _ = ref(X, None)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    # gradients reach the original (undropped) recurrent weights, zero where dropped
    got.sum().backward()
    g = net.rnns[0].module.weight_hh_l0.grad
    assert g is not None and torch.all(g[masks[0] == 0] == 0) and g.abs().sum() > 0
    net.eval()
    torch.testing.assert_close(net(X, None)[0], _reference(net)(X, None)[0], rtol=1e-12, atol=1e-12)


def test_locked_dropout_keeps_one_mask_across_time():
    net = _awd(dropout_output=0.5)
    net.keep_outputs = True
    net.train()
    net(torch.randint(0, V, (4, 9)), None)
    raw, dropped = net.outputs  # (T, B, H)
    ratio = torch.where(raw != 0, dropped / raw, torch.zeros_like(raw))
    # the same units are dropped (0) or scaled by 1/(1-p) = 2 at every time step
    assert torch.allclose(ratio, ratio[:1].expand_as(ratio))
    assert set(ratio.unique().tolist()) <= {0.0, 2.0} and (ratio == 0).any() and (ratio == 2).any()


def test_embedding_dropout_drops_word_types_only_in_training():
    net = _awd(dropout_embed=0.5)
    ref = _reference(net)
    X = torch.tensor([[3, 3, 3, 3, 3, 3]])  # one word type: kept or dropped everywhere
    net.train()
    seen = set()
    for seed in range(12):
        torch.manual_seed(seed)
        out, _ = net(X, None)
        # dropped: the LSTM reads zeros (plain model fed an all-zero embedding row);
        # kept: the row scaled by 1/(1-p) = 2
        with torch.no_grad():
            for scale in (0.0, 2.0):
                ref.embedding.weight.copy_(net.embedding.weight * scale)
                if torch.allclose(out, ref(X, None)[0], atol=1e-12):
                    seen.add(scale)
    assert seen == {0.0, 2.0}
    net.eval()
    with torch.no_grad():
        ref.embedding.weight.copy_(net.embedding.weight)
    torch.testing.assert_close(net(X, None)[0], ref(X, None)[0], rtol=1e-12, atol=1e-12)


def test_tied_weights_make_the_last_layer_the_embedding_size():
    net = build_lm(ModelConfig(embed=8, hidden=20, layers=3, tie_weights=True, dropout_output=0.1), V)
    assert isinstance(net, RegularizedRNNModel)
    assert net.linear.weight is net.embedding.weight
    assert [layer.hidden_size for layer in net.rnns] == [20, 20, 8]
    out, state = net(torch.randint(0, V, (2, 4)), net.begin_state(2))
    assert out.shape == (4 * 2, V) and [s[0].shape for s in state] == [(1, 2, 20), (1, 2, 20), (1, 2, 8)]


@pytest.mark.parametrize("layers", [2, 3])
def test_tying_gives_the_last_layer_the_embedding_size_with_or_without_the_awd_options(layers):
    # one rule (AWD-LSTM's): tied, the last layer has --embed units, the others --hidden; the plain
    # options build the model the AWD options would, which in eval computes the same function
    plain = build_lm(ModelConfig(embed=8, hidden=20, layers=layers, tie_weights=True), V)
    awd = build_lm(ModelConfig(embed=8, hidden=20, layers=layers, tie_weights=True, dropout_output=0.3,
                               weight_drop=0.2), V)
    assert layer_sizes(plain) == layer_sizes(awd) == [20] * (layers - 1) + [8]
    assert describe(plain) == f"{layers} layers {'20/' * (layers - 1)}8, embedding 8 tied to the output"
    assert plain.linear.weight is plain.embedding.weight
    assert {k: v.shape for k, v in plain.state_dict().items()} == \
        {k.replace(".module", ""): v.shape for k, v in awd.state_dict().items()}
    awd.load_state_dict({k: plain.state_dict()[k.replace(".module", "")] for k in awd.state_dict()})
    X = torch.randint(0, V, (3, 5))
    with torch.no_grad():
        torch.testing.assert_close(plain.eval()(X, None)[0], awd.eval()(X, None)[0], rtol=0, atol=0)


def test_tying_with_embed_equal_to_hidden_keeps_the_plain_model():
    # the model (and so the checkpoints) of a plain tied run stay what they were
    net = build_lm(ModelConfig(embed=8, hidden=8, layers=2, tie_weights=True), V)
    assert isinstance(net, RNNModel) and describe(net) == "2 layers 8/8, embedding 8 tied to the output"
    assert sorted(net.state_dict()) == sorted(["embedding.weight", "linear.weight", "linear.bias"] + [
        f"rnn.{w}_l{k}" for k in range(2) for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")])


def test_plain_dropout_of_a_tied_model_with_a_smaller_last_layer():
    # --dropout (not the AWD options) on such a model: a fresh mask per step, in training only
    net = build_lm(ModelConfig(embed=6, hidden=10, layers=2, tie_weights=True, dropout=0.5), V).double()
    seen = {}
    net.rnns[1].register_forward_pre_hook(lambda m, a: seen.__setitem__("in1", a[0]))
    net.rnns[0].register_forward_hook(lambda m, a, o: seen.__setitem__("out0", o[0]))
    net.train()(torch.randint(0, V, (4, 9)), None)
    ratio = _ratio(seen["in1"], seen["out0"])
    assert _is_mask(ratio, locked=False) and not torch.equal(ratio, ratio[:1].expand_as(ratio))
    net.eval()(torch.randint(0, V, (4, 9)), None)
    torch.testing.assert_close(seen["in1"], seen["out0"], rtol=0, atol=0)


@pytest.mark.parametrize("config, message", [
    (ModelConfig(hidden=16, tie_weights=True), "the input is one-hot: give an embedding, e.g. --embed 16"),
    (ModelConfig(hidden=8, embed=8, layers=2, bidirectional=True, tie_weights=True),
     r"--bidirectional needs --embed equal to the output of both directions, 2 x --hidden = 16; got --embed 8: "
     r"set --embed 16 \(or --hidden 4\)"),
])
def test_tying_that_no_model_can_have_says_what_to_change(config, message):
    with pytest.raises(SeqlabError, match=message):
        build_lm(config, V)
    net = build_lm(ModelConfig(hidden=8, embed=16, layers=2, bidirectional=True, tie_weights=True), V)
    assert describe(net) == "2 layers 8/8 per direction (bidirectional), embedding 16 tied to the output"


@pytest.mark.parametrize("awd", [{}, {"dropout_output": 0.2}])
def test_the_library_refuses_one_tied_layer_of_another_size_than_hidden_as_train_lm_does(tmp_path, awd):
    # build_lm built it silently (one layer of --embed units, --hidden unused) where `seqlab train lm` refused it
    from seqlab.config import to_dict
    from seqlab.data.vocab import Vocab
    from seqlab.training.checkpoint import save_checkpoint
    from seqlab.training.lm import LMConfig, model_from_checkpoint

    config = ModelConfig(hidden=16, embed=8, layers=1, tie_weights=True, **awd)
    with pytest.raises(SeqlabError, match=r"^--hidden 16 is unused with --layers 1 and --tie-weights: the one layer "
                                          r"has --embed \(8\) units; set --hidden 8 \(or --embed 16\)$"):
        build_lm(config, V)
    # a run trained before the rule (AWD options: it was built so) still builds, and its checkpoint loads
    net = build_lm(config, V, trained=True)
    assert describe(net) == "1 layer 8, embedding 8 tied to the output"
    vocab = Vocab(list("abcdefghij"))  # (with <unk>: V tokens)
    save_checkpoint(tmp_path / "best.safetensors", model=net,
                    meta={"task": "lm", "config": to_dict(LMConfig(model=config)), "vocab": vocab.to_dict()})
    loaded, _ = model_from_checkpoint(tmp_path)
    assert describe(loaded) == describe(net) and len(vocab) == V


def test_stateful_evaluation_works_with_per_layer_states():
    net = _awd(cell="gru", dropout_output=0.3, weight_drop=0.3).eval()
    stream = torch.randint(0, V, (40,))
    loss, n = evaluate_lm(net, stream, batch_size=3, num_steps=4)
    with torch.no_grad():
        logits, _ = net(stream[None, :-1], None)
    ref = torch.nn.functional.cross_entropy(logits, stream[1:], reduction="sum").item()
    loss1, n1 = evaluate_lm(net, stream, batch_size=1, num_steps=6)
    assert n == n1 == 39 and loss1 == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("config, message", [
    (ModelConfig(impl="scratch", embed=8, weight_drop=0.2), "--impl fused"),
    (ModelConfig(embed=0, dropout_output=0.2), "--embed"),
    (ModelConfig(embed=8, dropout=0.5, dropout_output=0.2), "--dropout-output"),
    (ModelConfig(embed=8, bidirectional=True, dropout_input=0.2), "--bidirectional"),
    (ModelConfig(embed=8, weight_drop=1.0), "weight.drop must be in"),
])
def test_bad_options_say_what_to_change(config, message):
    with pytest.raises(SeqlabError, match=message):
        build_lm(config, V)


def test_scratch_cells_take_locked_dropout():
    net = build_lm(ModelConfig(cell="peephole", impl="scratch", embed=6, hidden=5, layers=2,
                               dropout_hidden=0.2), V)
    out, state = net(torch.randint(0, V, (2, 3)), None)
    assert out.shape == (6, V) and len(state) == 2


@pytest.mark.parametrize("bad, message", [
    (torch.rand(2, 5), "must be integers"),
    (torch.zeros(2, 5, 3, dtype=torch.long), r"shape \(batch, time\)"),
    (torch.zeros(2, 0, dtype=torch.long), "empty"),
])
@pytest.mark.parametrize("regularized", [False, True])
def test_models_refuse_what_they_cannot_read(bad, message, regularized):
    extra = dict(dropout_input=0.1) if regularized else {}
    net = build_lm(ModelConfig(embed=8, hidden=8, **extra), 11)
    with pytest.raises(SeqlabError, match=message):
        net(bad, net.begin_state(2, torch.device("cpu")))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32])
@pytest.mark.parametrize("config", [ModelConfig(cell="gru", embed=8, hidden=8),
                                    ModelConfig(cell="lstm", embed=8, hidden=8, impl="scratch"),
                                    ModelConfig(cell="gru", embed=8, hidden=8, dropout_output=0.1),
                                    ModelConfig(cell="gru", hidden=8)],
                         ids=["embed", "embed-scratch", "awd", "one-hot"])
def test_models_read_ids_of_any_integer_dtype_as_int64(dtype, config):
    # an embedding RNNModel raised nn.Embedding's "Expected tensor for argument #1 'indices' to have
    # one of the following scalar types: Long, Int; but got torch.ByteTensor" (check_model_input lets them in)
    torch.manual_seed(0)
    net = build_lm(config, 50).eval()
    X = torch.randint(0, 50, (2, 6))
    state = net.begin_state(2)
    torch.testing.assert_close(net(X.to(dtype), state), net(X, state), rtol=0, atol=0)


def _ratio(after, before):
    """after / before elementwise (0 where before is 0): the dropout mask times 1/(1-p)."""
    return torch.where(before != 0, after / before, torch.zeros_like(before))


def _is_mask(ratio, locked):
    ok = set(ratio.unique().tolist()) <= {0.0, 2.0} and (ratio == 0).any() and (ratio == 2).any()
    return ok and (not locked or torch.equal(ratio, ratio[:1].expand_as(ratio)))


def test_locked_dropout_on_the_embedding_output_and_between_layers():
    # AWD-LSTM: dropouti on the embedding output, dropouth between layers, dropout (here 0) on
    # the last output; each one mask per sequence, kept units scaled by 1/(1-p) = 2
    net = _awd(dropout_input=0.5, dropout_hidden=0.5).train()
    seen = {}
    net.rnns[0].register_forward_pre_hook(lambda m, a: seen.__setitem__("in0", a[0]))
    net.rnns[0].register_forward_hook(lambda m, a, o: seen.__setitem__("out0", o[0]))
    net.rnns[1].register_forward_pre_hook(lambda m, a: seen.__setitem__("in1", a[0]))
    net.rnns[1].register_forward_hook(lambda m, a, o: seen.__setitem__("out1", o[0]))
    net.linear.register_forward_pre_hook(lambda m, a: seen.__setitem__("head", a[0]))
    X = torch.randint(0, V, (4, 9))
    net(X, None)
    assert _is_mask(_ratio(seen["in0"], net.embedding(X.T)), locked=True)
    assert _is_mask(_ratio(seen["in1"], seen["out0"]), locked=True)
    torch.testing.assert_close(seen["head"], seen["out1"].reshape(-1, 6), rtol=0, atol=0)
    net.eval()(X, None)
    torch.testing.assert_close(seen["in0"], net.embedding(X.T), rtol=0, atol=0)
    torch.testing.assert_close(seen["in1"], seen["out0"], rtol=0, atol=0)


def test_plain_model_dropout_on_the_embedding_and_the_output():
    # RNNModel's --dropout: on the embedding output and on the recurrent output before the head
    torch.manual_seed(0)
    net = RNNModel(nn.LSTM(6, 6), V, embed_size=6, dropout=0.5).double().train()
    seen = {}
    net.rnn.register_forward_pre_hook(lambda m, a: seen.__setitem__("in", a[0]))
    net.rnn.register_forward_hook(lambda m, a, o: seen.__setitem__("out", o[0]))
    net.linear.register_forward_pre_hook(lambda m, a: seen.__setitem__("head", a[0]))
    X = torch.randint(0, V, (4, 9))
    net(X, None)
    assert _is_mask(_ratio(seen["in"], net.embedding(X.T)), locked=False)
    assert _is_mask(_ratio(seen["head"], seen["out"].reshape(-1, 6)), locked=False)
    net.eval()(X, None)
    torch.testing.assert_close(seen["in"], net.embedding(X.T), rtol=0, atol=0)
    torch.testing.assert_close(seen["head"], seen["out"].reshape(-1, 6), rtol=0, atol=0)


def _is_uniform(w: torch.Tensor, r: float) -> bool:
    # U(-r, r): bounded by r and std r / sqrt(3) (N(0, 1) or PyTorch's linear init fail one of them)
    return w.abs().max() <= r and abs(w.std().item() - r / 3 ** 0.5) < 0.05 * r


@pytest.mark.parametrize("regularized", [False, True])
def test_init_range_draws_embedding_and_output_and_keeps_the_recurrent_init(regularized):
    extra = dict(dropout_output=0.1) if regularized else {}
    torch.manual_seed(0)
    ref = build_lm(ModelConfig(embed=40, hidden=30, **extra), 500)
    torch.manual_seed(0)
    net = build_lm(ModelConfig(embed=40, hidden=30, init_range=0.05, **extra), 500)
    assert _is_uniform(net.embedding.weight, 0.05) and _is_uniform(net.linear.weight, 0.05)
    assert not net.linear.bias.any()
    assert ref.embedding.weight.std() > 0.9  # without it: nn.Embedding's N(0, 1) (the char models' input)
    rnn = [(n, p) for n, p in net.named_parameters() if "rnn" in n]
    assert rnn and all(torch.equal(p, dict(ref.named_parameters())[n]) for n, p in rnn)


def test_tied_plain_model_starts_from_a_small_shared_matrix():
    net = build_lm(ModelConfig(embed=64, hidden=64, tie_weights=True), 2000)
    assert net.linear.weight is net.embedding.weight
    assert _is_uniform(net.embedding.weight, 0.1) and not net.linear.bias.any()


def test_negative_init_range_is_refused():
    with pytest.raises(SeqlabError, match="init_range must be >= 0"):
        build_lm(ModelConfig(embed=8, hidden=8, init_range=-0.1), 20)


@pytest.mark.parametrize("args, kwargs, message", [
    ((nn.LSTM(3, 4), 3.0), {}, "vocab_size must be a positive integer, got 3.0"),  # was torch's TypeError
    ((nn.LSTM(3, 4), 3), dict(embed_size=-1), r"embed_size must be 0 \(one-hot input\) or a positive integer"),
    ((nn.LSTM(3, 4), 3), dict(dropout=2), r"dropout must be in \[0, 1\), got 2"),  # was nn.Dropout's
    ((nn.LSTMCell(3, 4), 3), {}, "nn.RNN, nn.GRU, nn.LSTM or seqlab's ScratchRNN.*got LSTMCell.*nn.LSTM for"),
    ((nn.Linear(3, 4), 3), {}, "nn.RNN, nn.GRU, nn.LSTM or seqlab's ScratchRNN.*got Linear"),  # AttributeError
])
def test_rnn_model_refuses_what_it_cannot_be_built_from(args, kwargs, message):
    with pytest.raises(SeqlabError, match=message):
        RNNModel(*args, **kwargs)

"""The classifiers through PyTorch's deploy tools: torch.export, torch.fx, torch.jit.trace and ONNX
give the eager model's logits; the eager model itself is unchanged (packing where there are lengths)."""

import warnings

import pytest
import torch

from seqlab.models.classifier import SequenceClassifier, TextClassifier

V = 30


def _text(cell="lstm", bidirectional=False, layers=2):
    torch.manual_seed(0)
    return TextClassifier(V, 3, embed=8, hidden=8, layers=layers, cell=cell, bidirectional=bidirectional).eval()


def _batch():
    tokens = torch.randint(1, V, (3, 7), generator=torch.Generator().manual_seed(1))
    return tokens, torch.tensor([7, 4, 1])  # padded after each text's end


@pytest.mark.parametrize("cell, bidirectional", [("lstm", False), ("gru", True)])
def test_text_classifier_without_lengths_exports(cell, bidirectional):
    # was: export failed at the lengths' int(min/max) and at packing, even with no padding
    net = _text(cell, bidirectional)
    tokens, _ = _batch()
    program = torch.export.export(net, (tokens,))
    torch.testing.assert_close(program.module()(tokens), net(tokens), rtol=0, atol=1e-6)


@pytest.mark.parametrize("cell, bidirectional, layers", [("lstm", False, 2), ("gru", False, 2), ("lstm", True, 2),
                                                     ("gru", True, 3), ("lstm", True, 1)])
def test_text_classifier_with_lengths_exports(cell, bidirectional, layers):
    # traced, the padded batch is read whole and the top layer's output taken after each text's
    # last token (a bidirectional one: each direction apart, the backward one over the reversed
    # text; was a TypeError from packing): the packed eager model's logits, for lengths other
    # than the traced ones too
    net = _text(cell, bidirectional, layers)
    tokens, lengths = _batch()
    program = torch.export.export(net, (tokens, lengths)).module()
    for other in (lengths, torch.tensor([2, 7, 5])):
        torch.testing.assert_close(program(tokens, other), net(tokens, other), rtol=0, atol=1e-6)


def test_text_classifier_jit_traces_with_lengths():
    net = _text()
    tokens, lengths = _batch()
    with warnings.catch_warnings():  # (jit.trace's deprecation; nn.LSTM's own TracerWarning on its input check)
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(net, (tokens, lengths))
    other = torch.tensor([3, 3, 6])
    torch.testing.assert_close(traced(tokens, other), net(tokens, other), rtol=0, atol=1e-6)


def test_classifiers_fx_trace():
    # was: their input checks refused fx's Proxy (isinstance(x, torch.Tensor))
    net = _text()
    tokens, lengths = _batch()
    torch.testing.assert_close(torch.fx.symbolic_trace(net)(tokens, lengths), net(tokens, lengths),
                               rtol=0, atol=1e-6)
    no_lengths = torch.fx.symbolic_trace(net, concrete_args={"lengths": None})
    torch.testing.assert_close(no_lengths(tokens), net(tokens), rtol=0, atol=0)
    torch.manual_seed(0)
    seq = SequenceClassifier(4, 3, hidden=5, layers=2).eval()
    x = torch.randn(2, 6, 4)
    torch.testing.assert_close(torch.fx.symbolic_trace(seq)(x), seq(x), rtol=0, atol=0)


@pytest.mark.parametrize("cell, bidirectional", [("lstm", False), ("gru", False), ("lstm", True), ("gru", True)])
def test_eager_text_classifier_without_lengths_is_the_packed_full_length_one(cell, bidirectional):
    # without lengths nothing is packed now: the same logits as packing the texts at full length
    net = _text(cell, bidirectional)
    tokens, _ = _batch()
    # (bitwise on torch 2.13; torch 2.2's packed and plain kernels round apart)
    torch.testing.assert_close(net(tokens), net(tokens, torch.full((3,), 7)), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_text_classifier_onnx_export(tmp_path, bidirectional):
    pytest.importorskip("onnxscript")  # (the dynamo exporter's; not a seqlab dependency)
    ort = pytest.importorskip("onnxruntime")
    net = _text(bidirectional=bidirectional)
    tokens, lengths = _batch()
    path = tmp_path / "text.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (tokens, lengths), str(path), dynamo=True)
    session = ort.InferenceSession(str(path))
    other = torch.tensor([2, 7, 5])
    got = session.run(None, {i.name: t.numpy() for i, t in zip(session.get_inputs(), (tokens, other))})[0]
    assert abs(got - net(tokens, other).detach().numpy()).max() < 1e-5


def test_the_input_checks_still_refuse_under_torch_compile():
    # the checks stood aside under every tracer (tracing()), so a compiled classifier met a wrong
    # input with a deep torch error; under torch.compile they run (dynamo guards their size tests)
    from seqlab import SeqlabError

    torch.manual_seed(0)
    seq = torch.compile(SequenceClassifier(input_size=4, hidden=8, num_classes=3).eval(), backend="eager")
    with pytest.raises(SeqlabError, match="has 5 features per step but the classifier reads 4"):
        seq(torch.randn(2, 6, 5))
    text = torch.compile(_text().eval(), backend="eager")
    with pytest.raises(SeqlabError, match="must be integers"):
        text(torch.randn(2, 6))

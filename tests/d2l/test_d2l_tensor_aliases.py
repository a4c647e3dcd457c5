"""The book's framework-neutral tensor names (`d2l.zeros`, `d2l.reshape`, `d2l.numpy`, ...) exist in
`seqlab.d2l` with the semantics of d2l 0.17.6's torch.py, and the book's cells written in them run
(8.3's own seq_data_iter_random, with its d2l.tensor, is in test_d2l_text.py)."""

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from seqlab import d2l
from seqlab.training.forecast import Series, multistep

# d2l 0.17.6 torch.py, its last lines: `ones = torch.ones` ... `transpose = lambda x, ...: x.t(...)`
BOOK_ALIASES = ["ones", "zeros", "tensor", "arange", "meshgrid", "sin", "sinh", "cos", "cosh", "tanh", "linspace",
                "exp", "log", "normal", "rand", "matmul", "int32", "float32", "concat", "stack", "abs", "eye",
                "numpy", "size", "reshape", "to", "reduce_sum", "argmax", "astype", "transpose"]
BOUND_TO_TORCH = {"ones": torch.ones, "zeros": torch.zeros, "tensor": torch.tensor, "arange": torch.arange,
                  "meshgrid": torch.meshgrid, "sin": torch.sin, "sinh": torch.sinh, "cos": torch.cos,
                  "cosh": torch.cosh, "tanh": torch.tanh, "linspace": torch.linspace, "exp": torch.exp,
                  "log": torch.log, "normal": torch.normal, "rand": torch.rand, "matmul": torch.matmul,
                  "int32": torch.int32, "float32": torch.float32, "concat": torch.cat, "stack": torch.stack,
                  "abs": torch.abs, "eye": torch.eye}


def test_every_alias_of_the_book_is_here():
    from seqlab.d2l import aliases

    assert aliases.__all__ == BOOK_ALIASES
    for name in BOOK_ALIASES:
        assert hasattr(d2l, name), name
    for name, value in BOUND_TO_TORCH.items():
        assert getattr(d2l, name) is value, name


def test_the_list_is_the_installed_books():
    # the reference is read as text (it is not imported: importing it needs torchvision, pandas, ...)
    spec = importlib.util.find_spec("d2l")
    if spec is None or not (Path(spec.origin).parent / "torch.py").is_file():
        pytest.skip("d2l (the book's package) is not installed: nothing to compare with")
    tree = ast.parse((Path(spec.origin).parent / "torch.py").read_text(encoding="utf-8"))
    tail = []
    for node in tree.body:  # the aliases are the module's last statements, from `ones = torch.ones` on
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id == "ones" or tail:
                tail.append(node.targets[0].id)
        elif tail:
            tail = []
    assert tail == BOOK_ALIASES


@pytest.mark.filterwarnings("ignore:The use of `x.T` on tensors of dimension other than 2")  # the book's `.T` of a vector
def test_book_8_1_cells_written_in_the_aliases(monkeypatch):
    """Section 8.1's `#@tab all` / `#@tab mxnet, pytorch` cells, verbatim (no training: the aliases are
    what is tested; `d2l.plot` only records what it is given)."""
    plotted = []
    monkeypatch.setattr(d2l, "plot", lambda X, Y=None, *args, **kwargs: plotted.append(Y))
    torch.manual_seed(0)

    T = 1000  # Generate a total of 1000 points
    time = d2l.arange(1, T + 1, dtype=d2l.float32)
    x = d2l.sin(0.01 * time) + d2l.normal(0, 0.2, (T,))
    d2l.plot(time, [x], 'time', 'x', xlim=[1, 1000], figsize=(6, 3))

    tau = 4
    features = d2l.zeros((T - tau, tau))
    for i in range(tau):
        features[:, i] = x[i: T - tau + i]
    labels = d2l.reshape(x[tau:], (-1, 1))

    batch_size, n_train = 16, 600
    # Only the first `n_train` examples are used for training
    train_iter = d2l.load_array((features[:n_train], labels[:n_train]),
                                batch_size, is_train=True)

    # Function for initializing the weights of the network
    def init_weights(m):
        if type(m) == nn.Linear:
            torch.nn.init.xavier_uniform_(m.weight)

    # A simple MLP
    def get_net():
        net = nn.Sequential(nn.Linear(4, 10),
                            nn.ReLU(),
                            nn.Linear(10, 1))
        net.apply(init_weights)
        return net

    net = get_net()

    onestep_preds = net(features)
    d2l.plot([time, time[tau:]], [d2l.numpy(x), d2l.numpy(onestep_preds)], 'time',
             'x', legend=['data', '1-step preds'], xlim=[1, 1000],
             figsize=(6, 3))

    multistep_preds = d2l.zeros(T)
    multistep_preds[: n_train + tau] = x[: n_train + tau]
    for i in range(n_train + tau, T):
        multistep_preds[i] = d2l.reshape(net(
            multistep_preds[i - tau: i].reshape(1, -1)), 1)

    d2l.plot([time, time[tau:], time[n_train + tau:]],
             [d2l.numpy(x), d2l.numpy(onestep_preds),
              d2l.numpy(multistep_preds[n_train + tau:])], 'time',
             'x', legend=['data', '1-step preds', 'multistep preds'],
             xlim=[1, 1000], figsize=(6, 3))

    max_steps = 64
    features = d2l.zeros((T - tau - max_steps + 1, tau + max_steps))
    # Column `i` (`i` < `tau`) are observations from `x` for time steps from
    # `i + 1` to `i + T - tau - max_steps + 1`
    for i in range(tau):
        features[:, i] = x[i: i + T - tau - max_steps + 1].T

    # Column `i` (`i` >= `tau`) are the (`i - tau + 1`)-step-ahead predictions for
    # time steps from `i + 1` to `i + T - tau - max_steps + 1`
    for i in range(tau, tau + max_steps):
        features[:, i] = d2l.reshape(net(features[:, i - tau: i]), -1)

    steps = (1, 4, 16, 64)
    d2l.plot([time[tau + i - 1: T - max_steps + i] for i in steps],
             [d2l.numpy(features[:, tau + i - 1]) for i in steps], 'time', 'x',
             legend=[f'{i}-step preds' for i in steps], xlim=[5, 1000],
             figsize=(6, 3))

    assert time.dtype == torch.float32 and time.tolist() == list(range(1, T + 1))
    assert labels.shape == (T - tau, 1) and torch.equal(labels[:, 0], x[tau:])
    X, y = next(iter(d2l.load_array((features[:n_train, :tau], labels[:n_train]), 600, is_train=False)))
    assert torch.equal(X, torch.stack([x[t - tau: t] for t in range(tau, n_train + tau)]))
    assert onestep_preds.requires_grad and multistep_preds.requires_grad  # the book's .numpy() would raise
    assert [len(Y) for Y in plotted] == [1, 2, 3, 4]
    assert all(isinstance(a, np.ndarray) for Y in plotted[1:] for a in Y)
    np.testing.assert_array_equal(plotted[2][2], multistep_preds[n_train + tau:].detach().numpy())
    # the cells written in the aliases compute what seqlab's own multi-step prediction does
    torch.testing.assert_close(multistep(net, Series(x, tau=tau, n_train=n_train), n_train + tau, T - n_train - tau),
                               multistep_preds.detach()[n_train + tau:])
    assert len(train_iter) == n_train // batch_size + 1


def test_lambda_aliases_have_the_books_semantics():
    x = torch.arange(12).reshape(3, 4)
    # numpy: x.detach().numpy(); shares memory with a CPU tensor, as the book's does
    w = torch.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    a = d2l.numpy(w * 2)
    assert isinstance(a, np.ndarray) and a.tolist() == [[2.0, -4.0], [6.0, 8.0]]
    assert np.shares_memory(d2l.numpy(x), x.numpy())
    # size: x.numel()
    assert d2l.size(x) == x.numel() == 12 and d2l.size(torch.zeros(0, 5)) == 0
    # reshape: x.reshape(...), a shape tuple or the sizes one by one, -1 inferred
    assert d2l.reshape(x, (4, 3)).shape == (4, 3) and d2l.reshape(x, 2, -1).shape == (2, 6)
    assert d2l.reshape(torch.tensor([[5.0]]), 1).shape == (1,)  # 8.1: d2l.reshape(net(...), 1)
    # to: x.to(...)
    assert d2l.to(x, torch.float64).dtype == torch.float64 and d2l.to(x, "cpu").device.type == "cpu"
    # reduce_sum: x.sum(...), as the book calls it (9.5: the axis positional; elsewhere axis=, keepdims)
    assert d2l.reduce_sum(x).item() == 66
    assert d2l.reduce_sum(x, 1).tolist() == [6, 22, 38]
    assert d2l.reduce_sum(x, axis=0).tolist() == [12, 15, 18, 21]
    assert d2l.reduce_sum(x, 1, keepdim=True).shape == (3, 1)
    # argmax: x.argmax(...)
    y_hat = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    assert d2l.argmax(y_hat, axis=1).tolist() == [1, 0] and d2l.argmax(y_hat).item() == 1
    # astype: x.type(dtype); 9.5's valid lengths: d2l.reduce_sum(d2l.astype(array != pad, d2l.int32), 1)
    assert d2l.astype(x, torch.float32).dtype == torch.float32
    array = torch.tensor([[3, 4, 1, 1], [5, 1, 1, 1]])
    valid_len = d2l.reduce_sum(d2l.astype(array != 1, d2l.int32), 1)
    assert valid_len.tolist() == [2, 1] and valid_len.dtype == torch.int64  # torch's sum promotes int32, as in the book
    # transpose: x.t(), a matrix's transpose; a vector unchanged; more dimensions are refused, as in the book
    assert torch.equal(d2l.transpose(x), x.T) and d2l.transpose(x).shape == (4, 3)
    assert torch.equal(d2l.transpose(torch.arange(3)), torch.arange(3))
    with pytest.raises(RuntimeError):
        d2l.transpose(torch.zeros(2, 3, 4))


def test_plain_aliases_as_the_book_calls_them():
    # 8.4: X, W_xh = d2l.normal(0, 1, (3, 1)), d2l.normal(0, 1, (1, 4)) ...; d2l.matmul, d2l.concat
    torch.manual_seed(0)
    X, W_xh = d2l.normal(0, 1, (3, 1)), d2l.normal(0, 1, (1, 4))
    H, W_hh = d2l.normal(0, 1, (3, 4)), d2l.normal(0, 1, (4, 4))
    torch.testing.assert_close(d2l.matmul(X, W_xh) + d2l.matmul(H, W_hh),
                               d2l.matmul(d2l.concat((X, H), 1), d2l.concat((W_xh, W_hh), 0)))
    # 9.7: X = d2l.zeros((4, 7), dtype=torch.long); d2l.ones(3, 4, 10); d2l.tensor([4, 2, 0])
    assert d2l.zeros((4, 7), dtype=torch.long).dtype == torch.int64 and d2l.ones(3, 4, 10).shape == (3, 4, 10)
    assert d2l.tensor([4, 2, 0]).dtype == torch.int64 and d2l.stack([d2l.eye(2)] * 3).shape == (3, 2, 2)
    assert d2l.abs(d2l.tensor([-1.5])).item() == 1.5 and d2l.linspace(0, 1, 5)[-1].item() == 1.0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_numpy_of_a_cuda_tensor_that_requires_grad():
    w = torch.tensor([1.0, -2.0], device="cuda", requires_grad=True)
    a = d2l.numpy(w * 3)  # the book's x.detach().numpy() raises here
    assert isinstance(a, np.ndarray) and a.tolist() == [3.0, -6.0]

"""Seed 002's code (the book's sequence-model section) runs unchanged through `from seqlab import d2l`,
and seqlab's own prediction functions give exactly the book's one-step, multi-step and k-step values."""

import contextlib
import io

import matplotlib.pyplot as plt
import torch
from torch import nn

from seqlab import d2l
from seqlab.training.forecast import Series, k_step_predictions, multistep, one_step


def run_seed_002():
    """The seed's cells, verbatim apart from the notebook magic; returns their namespace and printout."""
    torch.manual_seed(0)
    T = 1000
    time = torch.arange(1, T + 1, dtype=torch.float32)
    x = torch.sin(0.01 * time) + torch.normal(0, 0.2, (T,))
    d2l.plot(time, [x], 'time', 'x', xlim=[1, 1000], figsize=(6, 3))

    tau = 4
    features = torch.zeros((T - tau, tau))
    for i in range(tau):
        features[:, i] = x[i: T - tau + i]
    labels = x[tau:].reshape((-1, 1))
    batch_size, n_train = 16, 600
    train_iter = d2l.load_array((features[:n_train], labels[:n_train]), batch_size, is_train=True)

    def init_weights(m):
        if type(m) == nn.Linear:
            nn.init.xavier_uniform_(m.weight)

    def get_net():
        net = nn.Sequential(nn.Linear(4, 10), nn.ReLU(), nn.Linear(10, 1))
        net.apply(init_weights)
        return net

    loss = nn.MSELoss(reduction='none')

    def train(net, train_iter, loss, epochs, lr):
        trainer = torch.optim.Adam(net.parameters(), lr)
        for epoch in range(epochs):
            for X, y in train_iter:
                trainer.zero_grad()
                l = loss(net(X), y)
                l.sum().backward()
                trainer.step()
            print(f'epoch {epoch + 1}, '
                  f'loss: {d2l.evaluate_loss(net, train_iter, loss):f}')

    net = get_net()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        train(net, train_iter, loss, 5, 0.01)

    onestep_preds = net(features)
    d2l.plot([time, time[tau:]], [x.detach().numpy(), onestep_preds.detach().numpy()], 'time', 'x',
             legend=['data', '1-step preds'], xlim=[1, 1000], figsize=(6, 3))

    multistep_preds = torch.zeros(T)
    multistep_preds[:n_train + tau] = x[:n_train + tau]
    for i in range(n_train + tau, T):
        multistep_preds[i] = net(multistep_preds[i - tau: i].reshape((1, -1)))

    max_steps = 64
    features = torch.zeros((T - tau - max_steps + 1, tau + max_steps))
    for i in range(tau):
        features[:, i] = x[i: i + T - tau - max_steps + 1]
    for i in range(tau, tau + max_steps):
        features[:, i] = net(features[:, i - tau: i]).reshape(-1)
    steps = (1, 4, 16, 64)
    d2l.plot([time[tau + k - 1: T - max_steps + k] for k in steps],
             [features[:, (tau + k - 1)].detach().numpy() for k in steps], 'time', 'x',
             legend=[f'{k}-step preds' for k in steps], xlim=[5, 1000], figsize=(6, 3))
    plt.close("all")
    return dict(x=x, net=net, onestep=onestep_preds, multistep=multistep_preds, table=features), out.getvalue()


def test_seed_002_trains_like_the_book():
    ns, printed = run_seed_002()
    losses = [float(line.split("loss: ")[1]) for line in printed.strip().splitlines()]
    assert len(losses) == 5
    # the book prints about 0.077 -> 0.052; never below the noise floor 0.04 on training data either
    assert 0.045 < losses[-1] < 0.07 and losses[-1] < losses[0] < 0.2


def test_seqlab_predictions_equal_the_books():
    ns, _ = run_seed_002()
    net, x = ns["net"], ns["x"]
    series = Series(x, tau=4, n_train=600)
    torch.testing.assert_close(one_step(net, series), ns["onestep"].detach().reshape(-1))
    torch.testing.assert_close(multistep(net, series, 604, 396), ns["multistep"].detach()[604:])
    for k in (1, 4, 16, 64):
        pos, preds = k_step_predictions(net, series, k)
        book = ns["table"][:, 4 + k - 1].detach()  # the book keeps T - tau - 64 + 1 rows
        assert pos[0].item() == 4 + k - 1
        torch.testing.assert_close(preds[:len(book)], book)


def test_evaluate_loss_is_the_mean_over_all_examples():
    net = nn.Linear(2, 1)
    X, y = torch.randn(10, 2), torch.randn(10, 1)
    it = d2l.load_array((X, y), 3, is_train=False)  # batches of 3, 3, 3, 1: a mean of batch means would differ
    expected = ((net(X) - y) ** 2).mean().item()
    assert abs(d2l.evaluate_loss(net, it, nn.MSELoss(reduction='none')) - expected) < 1e-6


def test_load_array_shuffles_only_for_training():
    # the book: DataLoader(dataset, batch_size, shuffle=is_train)
    X, y = torch.arange(20.0).reshape(10, 2), torch.arange(10.0)
    in_order = torch.cat([b for _, b in d2l.load_array((X, y), 3, is_train=False)]).tolist()
    assert in_order == list(range(10))
    torch.manual_seed(0)
    batches = list(d2l.load_array((X, y), 3))
    shuffled = torch.cat([b for _, b in batches]).tolist()
    assert sorted(shuffled) == list(range(10)) and shuffled != list(range(10))
    assert all(torch.equal(Xb[:, 0], 2 * yb) for Xb, yb in batches)  # features stay with their labels

"""Time-series data: the book's sine, lag features, CSV columns, and bad input."""


import pytest
import torch

from seqlab import SeqlabError
from seqlab.data.timeseries import check_series, lag_features, load_csv_column, sine_series


def test_sine_series_is_seeded_and_has_the_books_noise():
    t, x = sine_series(1000, seed=3)
    assert t[0] == 1 and t[-1] == 1000 and x.shape == (1000,)
    torch.testing.assert_close(x, sine_series(1000, seed=3)[1])
    assert not torch.equal(x, sine_series(1000, seed=4)[1])
    noise = x - torch.sin(0.01 * t)
    assert abs(noise.std().item() - 0.2) < 0.015 and abs(noise.mean().item()) < 0.02
    _, clean = sine_series(10, noise=0.0)
    torch.testing.assert_close(clean, torch.sin(0.01 * torch.arange(1, 11.0)))


def test_lag_features_match_the_books_loop():
    x = torch.arange(10.0)
    tau = 4
    features, labels = lag_features(x, tau)
    book = torch.zeros((10 - tau, tau))
    for i in range(tau):
        book[:, i] = x[i: 10 - tau + i]
    torch.testing.assert_close(features, book)
    torch.testing.assert_close(labels, x[tau:].reshape(-1, 1))
    assert features[0].tolist() == [0, 1, 2, 3] and labels[0].item() == 4


@pytest.mark.parametrize("values, tau, message", [
    ([1.0, float("nan"), 2.0, 3.0, 4.0, 5.0], 2, "NaN/inf value(s), the first at position 1"),
    ([1.0, 2.0, float("inf"), 3.0, 4.0], 2, "NaN/inf"),
    ([1.0, 2.0, 3.0, 4.0], 4, "needs at least 5"),
    ([1.0, 2.0, 3.0], 0, "tau must be a positive"),
])
def test_bad_series_are_refused(values, tau, message):
    with pytest.raises(SeqlabError, match=message.replace("(", r"\(").replace(")", r"\)")):
        lag_features(torch.tensor(values), tau)


def test_series_of_exactly_tau_plus_one_values_gives_one_row():
    features, labels = lag_features(torch.tensor([1.0, 2.0, 3.0]), 2)
    assert features.tolist() == [[1.0, 2.0]] and labels.tolist() == [[3.0]]
    with pytest.raises(SeqlabError, match="one-dimensional"):
        check_series(torch.zeros(3, 2), 1)


def test_csv_column(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("date,temp,rain\n2020-01-01,1.5,0\n2020-01-02, -2.25 ,1\n\n2020-01-03,3e1,0\n")
    assert load_csv_column(f, "temp").tolist() == [1.5, -2.25, 30.0]
    with pytest.raises(SeqlabError, match="no column 'Temp'; its columns are: date, temp, rain"):
        load_csv_column(f, "Temp")


@pytest.mark.parametrize("body, message", [
    ("a,b\n1,2\n3,x\n", "line 3, column 'b': 'x' is not a number"),
    ("a,b\n1,2\n3,nan\n", "NaN/inf"),
    ("a,b\n1,2\n3,\n", "'' is not a number"),
    ("", "is empty"),
    ("a,b\n", "no values in column 'b'"),
    ("b,a,b\n1,2,3\n", r"2 columns named 'b' \(columns 1, 3\)"),  # read the first without a word
])
def test_bad_csv_is_refused(tmp_path, body, message):
    f = tmp_path / "bad.csv"
    f.write_text(body)
    with pytest.raises(SeqlabError, match=message):
        load_csv_column(f, "b")


def test_missing_csv(tmp_path):
    with pytest.raises(SeqlabError, match="not found"):
        load_csv_column(tmp_path / "none.csv", "x")


def test_csv_with_byte_order_mark_and_spaced_header(tmp_path):
    # Excel's "CSV UTF-8" starts with a BOM; headers often have spaces after the commas
    f = tmp_path / "excel.csv"
    f.write_bytes("\ufeffvalue, other\n1,2\n3,4\n".encode("utf-8"))
    assert load_csv_column(f, "value").tolist() == [1.0, 3.0]
    assert load_csv_column(f, "other").tolist() == [2.0, 4.0]

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


# --- rows, delimiters and files the reader used to take wrongly (data review) -----------------------

@pytest.mark.parametrize("body, message", [
    # an unquoted thousands separator: every value was read as 1.0
    ("date,value\n2020-01-01,1,500\n2020-01-02,1,519\n",
     "line 2 has 3 fields but the header has 2: an unquoted thousands separator"),
    ("date,value\n2020-01-01,5\n2020-01-02,5,6\n", "line 3 has 3 fields but the header has 2"),
    ("date,value\n2020-01-01,5\n2020-01-02\n", "line 3 has 1 field but the header has 2: a missing field"),
    # a quoted field over two lines: the row after it starts on line 4 of the file
    ('note,value\n"a\nb",1\n2020-01-02,1,2\n', "line 4 has 3 fields"),
])
def test_rows_with_another_number_of_fields_are_refused(tmp_path, body, message):
    f = tmp_path / "bad.csv"
    f.write_text(body)
    with pytest.raises(SeqlabError, match=message):
        load_csv_column(f, "value")


@pytest.mark.parametrize("body, said", [("date;value\n2020-01-01;1,5\n", "';'"),
                                        ("date\tvalue\n2020-01-01\t1.5\n", "a tab")])
def test_another_delimiter_is_named(tmp_path, body, said):
    f = tmp_path / "semi.csv"
    f.write_text(body)
    with pytest.raises(SeqlabError, match=f"delimiter is probably {said}; seqlab reads comma-separated files"):
        load_csv_column(f, "value")


def test_a_blank_first_line_is_not_an_empty_file(tmp_path):
    f = tmp_path / "blank.csv"
    f.write_text("\ndate,value\n2020-01-01,1\n")
    with pytest.raises(SeqlabError, match="its first line is blank") as info:
        load_csv_column(f, "value")
    assert "is empty" not in str(info.value)


@pytest.mark.parametrize("body", [
    "t,value\n1,0.5,\n2,0.6,\n",      # a trailing comma on the rows only
    "t,value,\n1,0.5\n2,0.6\n",       # ... on the header only
    "t,value,\n1,0.5,\n2,0.6,\n",     # ... on every line
    "t,value,note\n1,0.5\n2,0.6,x\n",  # a last column left empty on a row
])
def test_trailing_empty_fields_count_for_nothing(tmp_path, body):
    # as read before the field-count check (a file read then could no longer be read back)
    f = tmp_path / "ok.csv"
    f.write_text(body)
    assert load_csv_column(f, "value").tolist() == pytest.approx([0.5, 0.6])


def test_a_field_past_csvs_default_limit_is_read_and_the_limit_restored(tmp_path):
    import csv

    f = tmp_path / "long.csv"
    f.write_text("note,value\n" + "x" * 200_000 + ",1.5\nn,2\n")  # was _csv.Error, a traceback
    before = csv.field_size_limit()
    assert load_csv_column(f, "value").tolist() == [1.5, 2.0]
    assert csv.field_size_limit() == before


def test_a_long_bad_cell_is_shown_cut_short(tmp_path):
    f = tmp_path / "long.csv"
    f.write_text("note,value\nn," + "9" * 1000 + "x\n")
    with pytest.raises(SeqlabError, match=r"\(1,001 characters\) is not a number") as info:
        load_csv_column(f, "value")
    assert len(str(info.value)) < 300


def test_unreadable_csv_and_a_folder_are_one_line_errors(tmp_path, monkeypatch):
    from seqlab.data import timeseries

    f = tmp_path / "s.csv"
    f.write_text("value\n1\n")
    with pytest.raises(SeqlabError, match="is a folder, not a CSV file"):
        load_csv_column(tmp_path, "value")

    def denied(*args, **kwargs):  # as chmod 000 does for a user other than root
        raise PermissionError(13, "Permission denied", str(f))

    monkeypatch.setattr(timeseries, "open", denied, raising=False)
    with pytest.raises(SeqlabError, match="cannot read CSV file .*: Permission denied"):
        load_csv_column(f, "value")


def test_utf16_csv_says_so(tmp_path):
    f = tmp_path / "u.csv"
    f.write_bytes("date,value\n1,2\n".encode("utf-16"))
    with pytest.raises(SeqlabError, match="not UTF-8 text: it looks like UTF-16"):
        load_csv_column(f, "value")

"""The CSV series reader's refusals, checked where a mutation audit (2026-12-03) found them unpinned."""

import pytest

from seqlab.data.timeseries import read_csv_series
from seqlab.errors import SeqlabError


def test_a_row_too_short_to_reach_the_date_column_is_refused_naming_its_line(tmp_path):
    # the value column comes first, the dates second: a row of one field has its value but no date
    f = tmp_path / "s.csv"
    f.write_text("v,date\n1,2024-01-01\n2\n3,2024-01-03\n")
    with pytest.raises(SeqlabError, match="line 3 has 1 field but the header has 2"):
        read_csv_series(f, "v", "date")
    with pytest.raises(SeqlabError, match="line 3 has 1 field but the header has 2"):
        read_csv_series(f, "v")  # the date column found by its name


def test_a_series_with_several_non_finite_values_names_the_first(tmp_path):
    import torch

    from seqlab.data.timeseries import lag_features

    with pytest.raises(SeqlabError, match=r"holds 3 NaN/inf value\(s\), the first at position 1 \(nan\)"):
        lag_features(torch.tensor([1.0, float("nan"), 2.0, float("inf"), 3.0, float("-inf")]), 2)

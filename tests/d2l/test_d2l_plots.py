"""The book's plotting names (2.4 / 9.5): drawn with the user's pyplot, whose backend is left alone."""

import matplotlib
import pytest

from seqlab import d2l


@pytest.fixture
def svg_backend():
    plt = d2l.plt
    was = matplotlib.get_backend()
    plt.close("all")
    matplotlib.use("svg")
    yield plt
    plt.close("all")
    matplotlib.use(was)


def test_plot_keeps_the_users_backend_and_draws_on_the_current_axes(svg_backend, tmp_path):
    plt = svg_backend
    # None, as the book's: a notebook shows no `<Axes: ...>` Out[] under the figure
    drawn = d2l.plot([1, 2, 3], [[1, 4, 9], [1, 2, 3]], "x", "y", legend=["sq", "id"], path=str(tmp_path / "p.png"))
    assert drawn is None
    assert matplotlib.get_backend() == "svg"  # d2l.plot used to switch every later figure to Agg
    ax = plt.gca()
    assert len(ax.lines) == 2 and ax.get_xlabel() == "x"
    assert (tmp_path / "p.png").stat().st_size > 0
    d2l.plot([5, 6])  # the book clears the axes it draws on
    assert plt.gca() is ax and len(ax.lines) == 1


def test_training_plots_leave_pyplot_alone(svg_backend, tmp_path):
    from seqlab.plotting import plot_curves
    plot_curves(tmp_path / "c.png", [1, 2], {"train": [3.0, 2.0]}, xlabel="epoch", ylabel="ppl")
    assert matplotlib.get_backend() == "svg" and svg_backend.get_fignums() == []


def test_animator_collects_points_per_curve(svg_backend, tmp_path):
    animator = d2l.Animator(xlabel="epoch", ylabel="loss", legend=["train", "test"], xlim=[1, 10])
    animator.add(1, (2.0, None))  # a None skips that curve's point
    animator.add(2, (1.5, 1.8))
    assert animator.X == [[1.0, 2.0], [2.0]] and animator.Y == [[2.0, 1.5], [1.8]]
    ax = animator.axes[0]
    assert len(ax.lines) == 2 and ax.get_xlim() == (1.0, 10.0) and ax.get_ylabel() == "loss"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "test"]
    animator.save(str(tmp_path / "a.png"))
    assert (tmp_path / "a.png").stat().st_size > 0


def test_show_list_len_pair_hist_counts_lengths(svg_backend):
    src = [["a"], ["a", "b"], ["a", "b"]]
    tgt = [["x", "y", "z"]] * 3
    assert d2l.show_list_len_pair_hist(["source", "target"], "# tokens per sequence", "count", src, tgt) is None
    ax = svg_backend.gca()
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights) == 6  # 3 lengths per series
    assert sum(p.get_hatch() == "/" for p in ax.patches) == len(ax.patches) // 2
    d2l.set_figsize((4, 3))
    assert list(svg_backend.rcParams["figure.figsize"]) == [4.0, 3.0]

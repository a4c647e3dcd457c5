"""The book's cells in a real Jupyter kernel (how its readers run them): each plotting or training
cell shows what the book's shows -- its printed lines and one SVG figure, no `Out[]` line under it
(`<Axes: ...>`, `(ppl, speed)`, a list of losses), no error."""

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

CELLS = [
    "%matplotlib inline\nimport torch\nfrom seqlab import d2l",
    # 8.1: the book's plot of a series
    "time = torch.arange(1, 101, dtype=torch.float32)\n"
    "x = torch.sin(0.01 * time) + torch.normal(0, 0.2, (100,))\n"
    "d2l.plot(time, [x], 'time', 'x', xlim=[1, 100], figsize=(6, 3))",
    # 8.6, shortened: train_ch8 prints, draws its live curve, and shows nothing else
    "train_iter, vocab = d2l.load_data_time_machine(8, 10, max_tokens=2000)\n"
    "net = d2l.RNNModel(torch.nn.RNN(len(vocab), 16), vocab_size=len(vocab))\n"
    "d2l.train_ch8(net, train_iter, vocab, 1, 10, 'cpu')",
    # the value is still there for whoever asks for it
    "ppl, speed = d2l.train_ch8(net, train_iter, vocab, 1, 10, 'cpu', verbose=False)\nprint(ppl > 1, speed > 0)",
]


def _run(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb.cells


def test_the_books_cells_show_what_the_books_show(tmp_path):
    setup, plot, train, value = _run(tmp_path)
    for cell in (setup, plot, train, value):
        kinds = [o["output_type"] for o in cell.outputs]
        assert "error" not in kinds and "execute_result" not in kinds, cell.outputs  # no Out[] line
    figures = [o for o in plot.outputs if o["output_type"] == "display_data"]
    assert len(figures) == 1 and "image/svg+xml" in figures[0]["data"]  # the book's SVG, once
    printed = "".join(o.get("text", "") for o in train.outputs if o["output_type"] == "stream")
    assert printed.count("perplexity ") == 1 and "tokens/sec on cpu" in printed
    shown = [o for o in train.outputs if o["output_type"] == "display_data"]
    assert len(shown) == 1 and "image/svg+xml" in shown[0]["data"]  # the live curve's last frame
    assert "".join(o.get("text", "") for o in value.outputs).strip() == "True True"

"""Why the scratch cells' step products go through oneDNN on a CPU, and the layers alone.

    PYTHONPATH=. python benchmarks/step_products.py [--threads 1]

1. GFLOP/s of the step product (32 x 256) @ (256 x 1024) and of the weight-gradient product
   (256 x 1120) @ (1120 x 1024): torch.addmm/mm (MKL sgemm) vs oneDNN's linear kernel.
2. Forward + backward of one (35, 32, 28) float32 batch through nn.LSTM/GRU/RNN (with and
   without oneDNN) and through seqlab's ScratchRNN with fast paths on and off.
3. Three ways tried to make the RNN-512 step product (32 x 512) @ (512 x 512) faster, kept
   here because none paid on the AVX2 machine (benchmarks/RESULTS.md): MKL's packed-weight
   sgemm (`torch.ops.mkl._mkl_linear`, the weight packed once as inductor does); the batch cut
   in two halves, each recurrence on its own Python thread (one BLAS thread each); and oneDNN's
   whole-sequence RNN primitive (`torch.mkldnn_rnn_layer`) for the tanh RNN and the GRU,
   which PyTorch's wrapper builds only as an LSTM.
"""

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import torch

from seqlab.models.recurrent import ScratchRNN


def best_us(f, n=200, repeats=3):
    for _ in range(10):
        f()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            f()
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e6


def products():
    lin = torch.ops.mkldnn._linear_pointwise
    B, H, G, TB = 32, 256, 1024, 1120
    h, W, xw = torch.randn(B, H), torch.randn(H, G), torch.randn(B, G)
    Wt = W.T.contiguous()
    fl = 2 * B * H * G
    print(f"step product (32x256)@(256x1024): addmm {fl / best_us(lambda: torch.addmm(xw, h, W)) / 1e3:.0f} "
          f"GFLOP/s, oneDNN {fl / best_us(lambda: lin(h, Wt, None, 'none', [], '').add_(xw)) / 1e3:.0f} GFLOP/s")
    hs, dG = torch.randn(TB, H), torch.randn(TB, G)
    fl = 2 * TB * H * G
    print(f"weight gradient (256x1120)@(1120x1024): mm {fl / best_us(lambda: hs.T @ dG, 20) / 1e3:.0f} GFLOP/s, "
          f"oneDNN {fl / best_us(lambda: lin(hs.T.contiguous(), dG.T.contiguous(), None, 'none', [], ''), 20) / 1e3:.0f}"
          " GFLOP/s (transposed copies included)")


def layers():
    T, B, D, H = 35, 32, 28, 256
    X = torch.randn(T, B, D)
    for cls in (torch.nn.LSTM, torch.nn.GRU, torch.nn.RNN):
        fused = cls(D, H)
        scratch = ScratchRNN.from_fused(fused)

        def run(m):
            y, _ = m(X)
            y.sum().backward()
        a = best_us(lambda: run(fused), 10, 5) / 1e3
        with torch.backends.mkldnn.flags(enabled=False):
            b = best_us(lambda: run(fused), 10, 5) / 1e3
        c = best_us(lambda: run(scratch), 10, 5) / 1e3
        scratch.fast = False
        d = best_us(lambda: run(scratch), 10, 5) / 1e3
        print(f"{cls.__name__} {H}: fused {a:.1f} ms, fused oneDNN off {b:.1f} ms, scratch fast {c:.1f} ms, "
              f"scratch plain {d:.1f} ms")


def rnn512_alternatives():
    B, H, T = 32, 512, 35
    h, W, xw = torch.randn(B, H), torch.randn(H, H) * 0.04, torch.randn(B, H)
    Wt = W.T.contiguous()
    packed = torch.ops.mkl._mkl_reorder_linear_weight(Wt, B)
    assert torch.allclose(torch.ops.mkl._mkl_linear(h, packed, Wt, None, B) + xw, torch.addmm(xw, h, W), atol=1e-4)
    fl = 2 * B * H * H
    print(f"RNN-512 step product (32x512)@(512x512): addmm {fl / best_us(lambda: torch.addmm(xw, h, W)) / 1e3:.0f} "
          f"GFLOP/s, MKL packed weight {fl / best_us(lambda: torch.ops.mkl._mkl_linear(h, packed, Wt, None, B).add_(xw)) / 1e3:.0f}"
          " GFLOP/s")

    X = torch.randn(T, B, H)

    def recurrence(x):
        s = torch.zeros(x.shape[1], H)
        for t in range(T):
            s = torch.tanh(torch.addmm(x[t], s, W))
        return s
    whole = best_us(lambda: recurrence(X), 10, 5) / 1e3
    halves = [X[:, :B // 2].contiguous(), X[:, B // 2:].contiguous()]
    threads = torch.get_num_threads()
    # one BLAS thread per half: MKL's count is process-wide, OpenMP's is per thread, so set both
    torch.set_num_threads(1)
    with ThreadPoolExecutor(2, initializer=torch.set_num_threads, initargs=(1,)) as pool:
        split = best_us(lambda: list(pool.map(recurrence, halves)), 10, 5) / 1e3
    torch.set_num_threads(threads)
    print(f"RNN-512 forward recurrence, 35 steps: whole batch {whole:.2f} ms, two halves on two Python threads "
          f"{split:.2f} ms")

    x, h0, c0 = torch.randn(T, B, 28), torch.zeros(1, B, 64), torch.zeros(1, B, 64)
    for mode, cls in ((1, torch.nn.RNN), (3, torch.nn.GRU), (2, torch.nn.LSTM)):  # ideep::rnn_kind
        m = cls(28, 64)
        try:
            y = torch.mkldnn_rnn_layer(x, m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0, h0, c0, False,
                                       [], mode, 64, 1, True, False, False, True)[0]
            ref = m(x, (h0, c0) if cls is torch.nn.LSTM else h0)[0]
            print(f"oneDNN RNN primitive as {cls.__name__}: runs, max |diff| vs {cls.__name__} "
                  f"{(y - ref).abs().max().item():.1e}")
        except RuntimeError as e:
            print(f"oneDNN RNN primitive as {cls.__name__}: refused ({str(e).split('.')[0]})")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    products()
    layers()
    rnn512_alternatives()

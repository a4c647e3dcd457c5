"""Run a script on the CudaLike device: python benchmarks/fake_cuda/run_script.py SCRIPT ARGS...
(e.g. a benchmark's smallest settings with --device cuda, to check its plumbing before a GPU session;
timings mean nothing here). Host reads are listed at the end, by line."""
import collections
import os
import runpy
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cudalike  # noqa: E402

script, sys.argv = sys.argv[1], sys.argv[1:]
try:
    with cudalike.cuda_like():
        runpy.run_path(script, run_name="__main__")
finally:
    for (where, kind), n in collections.Counter(cudalike.SYNCS).most_common(20):
        print(f"cudalike host read x{n}: {where} ({kind})", file=sys.stderr)

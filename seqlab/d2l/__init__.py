"""The book's names over seqlab's implementation: `from seqlab import d2l`.

Code from *Dive into Deep Learning* chapters 8-9 runs unchanged against this module,
with the book's signatures and semantics, minus its known bugs (each fix is
documented at the function and tested). Each sub-module covers one part of the book;
`aliases` holds the tensor names (`d2l.zeros`, `d2l.reshape`, ...) its shared cells are written in.
"""

from seqlab.d2l.aliases import *  # noqa: F401,F403
from seqlab.d2l.common import *  # noqa: F401,F403
from seqlab.d2l.text import *  # noqa: F401,F403
from seqlab.d2l.lm import *  # noqa: F401,F403
from seqlab.d2l.nmt import *  # noqa: F401,F403
from seqlab.d2l.timeseries import *  # noqa: F401,F403


def __getattr__(name: str):
    if name == "plt":  # the book's `d2l.plt`; imported on first use (pyplot takes a while to load)
        import matplotlib.pyplot as plt

        return plt
    raise AttributeError(f"module 'seqlab.d2l' has no attribute {name!r}")

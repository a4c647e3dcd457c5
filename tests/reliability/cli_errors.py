"""What the CLI-review tests share (tests/reliability, on the test path): a tiny text and pair set,
the check that a command is refused with one `seqlab: error: ...` line, exit code 2, and a tiny MNIST."""

import numpy as np

from seqlab.cli import main

EXIT_BAD_INPUT = 2
TEXT = "the time machine by h g wells\n" * 40
PAIRS = [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !"), ("I lost.", "J'ai perdu."),
         ("I'm home.", "Je suis chez moi."), ("He's calm.", "Il est calme."), ("Go now.", "Va maintenant !"),
         ("I'm calm.", "Je suis calme."), ("He's home.", "Il est chez lui."), ("I lost it.", "Je l'ai perdu.")]


def expect_bad_input(argv, fragment, capsys, *more):
    """Run `seqlab argv`: exit code 2, one `seqlab: error:` line holding `fragment` (and each of
    `more`), no traceback."""
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == EXIT_BAD_INPUT, err[-2000:]
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    assert err.startswith("seqlab: error: ") and len(err.splitlines()) == 1, err
    for piece in (fragment, *more):
        assert piece in err, err
    return err


def write_digits(folder, seed: int = 0) -> None:
    """A tiny MNIST in `folder`: 60 training and 20 test images of random pixels and labels."""
    from seqlab.data.mnist import write_idx

    rng = np.random.default_rng(seed)
    for name, n in (("train", 60), ("t10k", 20)):
        write_idx(folder / f"{name}-images-idx3-ubyte.gz", rng.integers(0, 255, size=(n, 28, 28)).astype(np.uint8))
        write_idx(folder / f"{name}-labels-idx1-ubyte.gz", rng.integers(0, 10, size=n).astype(np.uint8))

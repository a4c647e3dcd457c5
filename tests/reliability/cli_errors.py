"""What the CLI-review tests share (tests/reliability, on the test path): a tiny text and pair set,
and the check that a command is refused with one `seqlab: error: ...` line, exit code 2."""

from seqlab.cli import main

EXIT_BAD_INPUT = 2
TEXT = "the time machine by h g wells\n" * 40
PAIRS = [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !"), ("I lost.", "J'ai perdu."),
         ("I'm home.", "Je suis chez moi."), ("He's calm.", "Il est calme."), ("Go now.", "Va maintenant !"),
         ("I'm calm.", "Je suis calme."), ("He's home.", "Il est chez lui."), ("I lost it.", "Je l'ai perdu.")]


def expect_bad_input(argv, fragment, capsys):
    """Run `seqlab argv`: exit code 2, one `seqlab: error:` line holding `fragment`, no traceback."""
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == EXIT_BAD_INPUT, err
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    assert err.startswith("seqlab: error: ") and len(err.splitlines()) == 1, err
    assert fragment in err, err
    return err

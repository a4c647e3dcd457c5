"""An unknown argument is reported by the sub-command it was given to, pointing at that command's
--help, with a did-you-mean for a near-miss option (a new-user review: `seqlab train lm --confg x.toml`
said "seqlab: error: unrecognized arguments: ... (see `seqlab --help`)", the top command's help,
while every other usage error named the sub-command's)."""

import pytest

from seqlab.cli import main


@pytest.mark.parametrize("argv, message", [
    (["train", "lm", "--confg", "x.toml"],
     "seqlab train lm: error: unrecognized arguments: --confg x.toml; did you mean --config? "
     "(see `seqlab train lm --help`)"),
    (["train", "lm", "--confg=x.toml", "--hiden", "3"],
     "seqlab train lm: error: unrecognized arguments: --confg=x.toml --hiden 3; did you mean --config for --confg, "
     "--hidden for --hiden? (see `seqlab train lm --help`)"),
    (["generate", "--checkpoint", "runs/tm", "--prefix", "a", "--num-tokns", "3"],
     "seqlab generate: error: unrecognized arguments: --num-tokns 3; did you mean --num-tokens? "
     "(see `seqlab generate --help`)"),
    # --check is an abbreviation argparse reads as --checkpoint: no typo of it
    (["evaluate", "--check", "runs/tm", "--whih", "last"],
     "seqlab evaluate: error: unrecognized arguments: --whih last; did you mean --which? "
     "(see `seqlab evaluate --help`)"),
    (["train", "classify", "--epochs", "1", "extra"],  # nothing to suggest for a stray word
     "seqlab train classify: error: unrecognized argument: extra (see `seqlab train classify --help`)"),
    (["--confg", "train", "lm"],  # given before the command: still the command's options
     "seqlab train lm: error: unrecognized argument: --confg; did you mean --config? (see `seqlab train lm --help`)"),
    # a typo of a required option is reported as that option missing: the typo is named too
    (["generate", "--checkpiont", "runs/tm", "--prefix", "a"],
     "seqlab generate: error: the following arguments are required: --checkpoint; --checkpiont: did you mean "
     "--checkpoint? (see `seqlab generate --help`)"),
])
def test_unknown_arguments_name_the_sub_command_and_a_near_miss(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert capsys.readouterr().err == message + "\n"

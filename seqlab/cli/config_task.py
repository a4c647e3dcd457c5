"""Which `seqlab train` task a --config file is for, when it is not the command's own.

A config file of one task given to another used to fail on whichever of its keys the command met
first: an unknown key with the command's whole key list (an lm given fra_eng_book.toml's
num_examples), an unknown section with "another task?", or a value (classify: dataset 'fra-eng' is
not one of mnist). Counted over all the file's keys instead, the task that knows the most of them
is named, with the keys that make it so.
"""

from __future__ import annotations

import importlib

from seqlab.errors import SeqlabError

# each `seqlab train` task's config class (module, name), imported only when a file needs the comparison
TASKS = {
    "lm": ("seqlab.training.lm", "LMConfig"),
    "translate": ("seqlab.cli.translate", "TranslateConfig"),
    "forecast": ("seqlab.training.forecast", "ForecastConfig"),
    "classify": ("seqlab.training.classify", "ClassifyConfig"),
}


def _names(cls: type) -> set[str]:
    """A config's leaf keys and its sections ("[data]", "[model.inner]")."""
    from seqlab.config import leaves

    table = leaves(cls)
    return set(table) | {f"[{'.'.join(p[:i])}]" for p, _ in table.values() for i in range(1, len(p) + 1)}


def _file_names(data: dict, path: tuple[str, ...] = ()) -> set[str]:
    out: set[str] = set()
    for key, value in data.items():
        if isinstance(value, dict):
            out.add(f"[{'.'.join(path + (key,))}]")
            out |= _file_names(value, path + (key,))
        else:
            out.add(key)
    return out


def _listed(names: list[str], most: int = 5) -> str:
    """"keys a, b are" (or "sections [x] are" where only sections differ; "key a is"): at most `most`,
    then how many more (an AWD recipe has 21 keys that forecast lacks)."""
    keys = [n for n in names if not n.startswith("[")]
    shown = keys or names
    what = ("keys " if len(shown) > 1 else "key ") if keys else ("sections " if len(shown) > 1 else "section ")
    are = " are" if len(shown) > 1 else " is"  # (the names shown: a section beside a key is not)
    if len(shown) <= most + 1:  # ("and 1 more" is no shorter)
        return what + ", ".join(shown) + are
    return what + ", ".join(shown[:most]) + f" and {len(shown) - most} more" + are


def check_task(cls: type, path: str, data: dict) -> None:
    """Refuse `data` (the TOML of --config `path`) for the task of config class `cls` where its keys and
    sections are another task's: the task knowing more of them than `cls` does is named. Where `cls`
    knows the most, a key only another task has is named as that task's; the rest (a typo) is left
    to config.from_dict, which suggests the near key."""
    given = _file_names(data)
    own = _names(cls)
    if given <= own:
        return
    name = next((t for t, (_, c) in TASKS.items() if c == cls.__name__), cls.__name__)
    others = {t: _names(getattr(importlib.import_module(m), c)) for t, (m, c) in TASKS.items() if t != name}
    score = {t: len(given & names) for t, names in others.items()}
    best = max(score.values())
    if best > len(given & own):
        tasks = [t for t in others if score[t] == best]
        if not all(given - own & others[t] == given - own & others[tasks[0]] for t in tasks):
            tasks = tasks[:1]  # (a tie named only where the tied tasks know the same of its keys)
        # its own keys first (translate's num_examples before dropout, which lm has too)
        rest = [names for t, names in others.items() if t not in tasks]
        its = sorted((n for n in given - own if n in others[tasks[0]]), key=lambda n: (any(n in r for r in rest), n))
        whose = " or ".join(f"`seqlab train {t}`" for t in tasks)
        owners = " and ".join(f"{t}'s" for t in tasks)  # (a file of two keys both lm and classify have)
        raise SeqlabError(f"{path} is a config for {whose} (its {_listed(its)} {owners}), not for `seqlab train "
                          f"{name}`: use it with {whose}, or give `seqlab train {name}` a config of its own")
    for key in sorted(given - own):
        holders = [t for t, names in others.items() if key in names]
        if holders and not key.startswith("["):
            raise SeqlabError(f"config key {key!r} in {path} is a setting of "
                              f"{' and '.join(f'`seqlab train {t}`' for t in holders)}, not of "
                              f"`seqlab train {name}`: remove it")

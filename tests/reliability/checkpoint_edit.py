"""Tests' checkpoint surgery: rewrite a checkpoint's seqlab metadata with its tensors (and so their
checksum) untouched, as a run saved by an older version, or an edited file, would hold it."""

import json
from pathlib import Path


def edit_meta(src: Path, change, dst: Path | None = None) -> Path:
    """Apply `change(meta)` to checkpoint `src`'s JSON metadata; write the result to `dst` (by
    default over `src`) and return its path."""
    blob = src.read_bytes()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    meta = json.loads(header["__metadata__"]["seqlab"])
    change(meta)
    header["__metadata__"]["seqlab"] = json.dumps(meta)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)  # the header keeps 8-byte alignment, as safetensors writes it
    dst = src if dst is None else dst
    dst.write_bytes(len(head).to_bytes(8, "little") + head + blob[8 + n:])
    return dst

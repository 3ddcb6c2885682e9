"""Stable seeds derived from a run seed and names, so every node gets its own random stream.

Python's ``hash()`` is salted per process; a cryptographic digest of the parts is not, so the same
(seed, names) give the same stream on every machine and every run.
"""

from __future__ import annotations

import hashlib


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from ``parts`` (ints and strings), identical across processes and platforms."""
    text = "\x1f".join(f"{type(p).__name__}:{p}" for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")

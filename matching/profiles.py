"""Factory profiles (YAML or JSON): categories accepted, MOQ, quality and on-time history.

File shape (see ``matching/samples/profiles.yaml``)::

    categories: [tshirt, shirt]      # optional catalogue; orders outside it are invalid
    factories:
      - enterprise: f001
        moq_pieces: 500
        quality: 0.97
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from seamline.configfile import read_document
from seamline.matching.errors import ProfilesError
from seamline.matching.models import FactoryProfile, ProfileBook


def load_profiles(path: Path | None) -> ProfileBook:
    """The profile book at ``path``; an empty book (every factory on defaults) when ``None``."""
    if path is None:
        return ProfileBook()
    data: Any = read_document(path, label="profiles", error=ProfilesError)
    if not isinstance(data, dict):
        raise ProfilesError(f"profiles {path}: expected a mapping with keys 'factories' and optional 'categories'")
    profiles: dict[str, FactoryProfile] = {}
    for n, raw in enumerate(data.get("factories") or [], start=1):
        try:
            prof = FactoryProfile.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ProfilesError(f"profiles {path}: factories[{n}]: {where}: {first['msg']}") from exc
        if prof.enterprise in profiles:
            raise ProfilesError(f"profiles {path}: factories[{n}]: duplicate enterprise {prof.enterprise!r}")
        profiles[prof.enterprise] = prof
    cats = data.get("categories")
    if cats is not None and not (isinstance(cats, list) and all(isinstance(c, str) for c in cats)):
        raise ProfilesError(f"profiles {path}: categories: expected a list of names")
    return ProfileBook(profiles=profiles, categories=cats)

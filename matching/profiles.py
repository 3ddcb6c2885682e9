"""Factory profiles (YAML or JSON): categories accepted, MOQ, quality and on-time history.

File shape (see ``matching/samples/profiles.yaml``)::

    categories: [tshirt, shirt]      # optional catalogue; orders outside it are invalid
    factories:
      - enterprise: f001
        moq_pieces: 500
        quality: 0.97
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from seamline.configfile import YamlError, parse_yaml
from seamline.matching.errors import ProfilesError
from seamline.matching.models import FactoryProfile, ProfileBook


def load_profiles(path: Path | None) -> ProfileBook:
    """The profile book at ``path``; an empty book (every factory on defaults) when ``None``."""
    if path is None:
        return ProfileBook()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfilesError(f"profiles {path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ProfilesError(f"profiles {path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data: Any = json.loads(text) if path.suffix.lower() == ".json" else parse_yaml(text)
    except YamlError as exc:
        raise ProfilesError(f"profiles {path}: {exc}") from exc
    except ValueError as exc:  # JSONDecodeError, or an integer of more digits than Python converts
        raise ProfilesError(f"profiles {path}: not valid JSON: {exc}") from exc
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

"""``seamline <service> sample-config`` prints every key (issue 14): each key of the edge, ingest and
rules config models, nested sections included, is named in the shipped sample — set to its
default, or commented as an example. Secret values themselves (``password``, ``token``,
``http_token``) are exempt: the samples name their ``_file``/``_env`` forms instead."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from seamline.edge_agent.config import EdgeConfig
from seamline.ingest.config import IngestConfig
from seamline.rules.config import RulesConfig

REPO = Path(__file__).resolve().parents[2]
SECRET_VALUES = frozenset({"password", "token", "http_token"})


def _models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, tuple, dict, typing.Annotated):
        return [m for arg in typing.get_args(annotation) for m in _models(arg)]
    return []


def key_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        out.append(prefix + name)
        for sub in _models(field.annotation):
            out += key_paths(sub, f"{prefix}{name}.")
    return out


def named(sample: str, key: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(key.rsplit('.', 1)[-1])}:", sample) is not None


@pytest.mark.parametrize("model,sample", [(EdgeConfig, "edge_agent/edge.sample.yaml"),
                                          (IngestConfig, "ingest/ingest.sample.yaml"),
                                          (RulesConfig, "rules/rules.sample.yaml")], ids=["edge", "ingest", "rules"])
def test_every_key_is_in_the_sample(model: type[BaseModel], sample: str) -> None:
    text = (REPO / sample).read_text(encoding="utf-8")
    keys = key_paths(model)
    assert len(keys) > 30  # nested sections were walked
    missing = [k for k in keys if k.rsplit(".", 1)[-1] not in SECRET_VALUES and not named(text, k)]
    assert missing == [], f"{sample} does not show: {', '.join(missing)}"


def test_the_check_sees_a_missing_key() -> None:
    text = (REPO / "rules/rules.sample.yaml").read_text(encoding="utf-8")
    assert named(text, "capacity.http_timeout_s")
    assert not named(text.replace("http_timeout_s:", "http_timeout:"), "capacity.http_timeout_s")

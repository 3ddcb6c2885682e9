"""The built-in alert rules, kept as YAML in ``builtin.yaml`` (the same keys as an own rule in
alerts.yaml, plus ``why``: why the default threshold is what it is, rendered into README.md).
``builtin.<id>:`` in alerts.yaml overrides any key; ``enabled: false`` turns a rule off. Each
rule's runbook defaults to :data:`RUNBOOK` + its id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

RUNBOOK = "https://runbooks.seamline.example/alerts/"
_FILE = Path(__file__).with_name("builtin.yaml")


def _load() -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    rules: dict[str, dict[str, Any]] = {}
    why: dict[str, str] = {}
    for entry in yaml.safe_load(_FILE.read_text(encoding="utf-8")):
        rule = dict(entry)
        why[rule["id"]] = rule.pop("why")
        rule.setdefault("runbook_url", RUNBOOK + rule["id"])
        rules[rule["id"]] = rule
    return rules, why


BUILTIN_RULES, WHY = _load()

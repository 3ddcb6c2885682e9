"""Coverage-guided fuzzing with atheris (libFuzzer): ``python -m tests.fuzz.atheris_main TARGET
[libFuzzer flags] [CORPUS_DIR]``, TARGET one of payload, topic, line_protocol, config. Run by
``test_fuzz_atheris.py`` with a bounded ``-runs`` / ``-max_total_time``; libFuzzer prints ``Done N
runs`` at the end and writes a ``crash-*`` file (the input) on any uncaught exception."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["seamline"]):
    from seamline.contracts.examples import examples
    from tests.fuzz import targets

# Topic shapes the payload target puts the fuzzed levels in; the first input byte picks one.
_KINDS = ("data", "state", "birth", "status", "capacity")


def _payload(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    kind = _KINDS[fdp.ConsumeIntInRange(0, len(_KINDS) - 1)]
    gateway = kind in ("birth", "status") or fdp.ConsumeBool()
    asset = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 8)) or "gw1"
    area = "_gateway" if gateway else fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 8)) or "l1"
    topic = f"seamline/v1/e1/s1/{area}/{asset}/{kind}"
    targets.fuzz_payload(topic, fdp.ConsumeBytes(fdp.remaining_bytes()))


def _topic(data: bytes) -> None:
    targets.fuzz_topic(data.decode("utf-8", "replace"))


def _line_protocol(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)

    def text() -> str:
        return str(fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 12)))

    measurement = text()
    tags = {text(): text() for _ in range(fdp.ConsumeIntInRange(0, 3))}
    fields: dict[str, object] = {}
    for _ in range(fdp.ConsumeIntInRange(0, 3)):
        choice = fdp.ConsumeIntInRange(0, 4)
        fields[text()] = (fdp.ConsumeRegularFloat() if choice == 0 else fdp.ConsumeFloat() if choice == 1
                          else fdp.ConsumeInt(9) if choice == 2 else fdp.ConsumeBool() if choice == 3 else text())
    targets.fuzz_encoder(measurement, tags, fields, fdp.ConsumeInt(8))  # type: ignore[arg-type]


_CONFIG_DIR = Path(tempfile.mkdtemp(prefix="seamline-atheris-config-"))


def _config(data: bytes) -> None:
    targets.fuzz_config(data.decode("utf-8", "replace"), _CONFIG_DIR)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "payload": _payload, "topic": _topic, "line_protocol": _line_protocol, "config": _config,
}


def seed_corpus(target: str, directory: Path) -> None:
    """Valid inputs to start from: the contract's example payloads and topics, the sample configs."""
    directory.mkdir(parents=True, exist_ok=True)
    repo = Path(__file__).resolve().parents[2]
    seeds: list[bytes] = []
    for topic, payload in examples():
        body = payload.model_dump_json(exclude_none=True).encode()
        if target == "payload" and topic.kind.value in _KINDS:
            seeds.append(bytes([_KINDS.index(topic.kind.value), 1, 0]) + body)
        elif target == "topic":
            seeds.append(str(topic).encode())
    if target == "config":
        seeds += [(repo / "edge_agent" / "edge.sample.yaml").read_bytes(),
                  (repo / "ingest" / "ingest.sample.yaml").read_bytes(),
                  # crashes found here before, kept as seeds so every run replays them
                  b"gateway:\n  id: " + b"7" * 4301 + b"\n",  # PyYAML let int()'s ValueError through
                  b"a: 2026-13-01\n"]
    for i, seed in enumerate(seeds):
        (directory / f"seed-{i}").write_bytes(seed)


def main() -> None:
    target = sys.argv[1]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], TARGETS[target])
    atheris.Fuzz()


if __name__ == "__main__":
    main()

"""Coverage-guided fuzzing with atheris (libFuzzer): ``python -m tests.fuzz.atheris_main TARGET
[libFuzzer flags] [CORPUS_DIR]``, TARGET one of payload, topic, line_protocol, config, inputs. Run by
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


def _inputs(data: bytes) -> None:
    if data:
        targets.fuzz_inputs(data[0], data[1:], _CONFIG_DIR)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "payload": _payload, "topic": _topic, "line_protocol": _line_protocol, "config": _config, "inputs": _inputs,
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
    if target == "inputs":
        samples = {"orders": repo / "matching" / "samples" / "orders.csv",
                   "profiles": repo / "matching" / "samples" / "profiles.yaml",
                   "capacity": repo / "matching" / "samples" / "capacity.json",
                   "method": repo / "grading" / "samples" / "linhai-2014.yaml"}
        for k, (suffix, reader) in enumerate(targets.INPUT_KINDS):
            if reader in samples and samples[reader].suffix == suffix:
                seeds.append(bytes([k]) + samples[reader].read_bytes())
        county = "企业代码,评价期,企业名称,用地面积(亩),税收(万元),销售收入(万元),工业增加值(万元),年平均职工人数\n"
        seeds.append(bytes([6]) + (county + "f001,2026Q2,厂01,4,3.2,60,16,16\n").encode("gbk"))
        # crashes found here before: an integer over 4300 digits, a GBK order book, a capacity file not JSON
        seeds.append(bytes([2]) + b'[{"order_id": "A", "quantity": ' + b"9" * 4301 + b"}]")
        seeds.append(bytes([1]) + "orders:\n  - {order_id: 订单A}\n".encode("gbk"))
        seeds.append(bytes([5]) + b"<html>login</html>")
    for i, seed in enumerate(seeds):
        (directory / f"seed-{i}").write_bytes(seed)


def main() -> None:
    target = sys.argv[1]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], TARGETS[target])
    atheris.Fuzz()


if __name__ == "__main__":
    main()

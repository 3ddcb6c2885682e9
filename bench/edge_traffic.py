"""Upstream traffic of the edge agent against the raw node stream it replaces, for simulated 8-hour
shifts (the agent's own derivation, no servers):

    .venv/bin/python -m bench.edge_traffic --seeds 3

The baseline is the local stream (one sample per message, as a real-time node sends; and batched
60 samples a message); the agent sends aggregates and state changes. Memory, start-up and CPU of
the real agent process are measured by ``bench.gateway_footprint``.
"""

from __future__ import annotations

import argparse

from seamline.edge_agent import wire
from seamline.edge_agent.aggregate import Andon, MachineDerivation, RawSample
from seamline.edge_agent.state import Thresholds
from seamline.firmware_stubs.sewing.machine import MachineProfile, MachineRun, simulate_machine
from seamline.firmware_stubs.sewing.payload import SampleRow, encode_andon, encode_samples

ENT, SITE, LINE = "bench", "plant1", "line1"
SHIFT_MS = 8 * 3600 * 1000


def _raw_bytes(run: MachineRun, topic: str, batch: int) -> tuple[int, int]:
    msgs = bytes_ = 0
    rows = [SampleRow(s.ts_ms, s.seq, s.current_a, s.speed_spm, s.stitches_total, s.pieces_total)
            for s in run.samples]
    for i in range(0, len(rows), batch):
        msgs += 1
        bytes_ += len(topic) + 5 + len(encode_samples(rows[i:i + batch]))
    for a in run.andon:
        msgs += 1
        bytes_ += len(topic) + 6 + len(encode_andon(a))
    return msgs, bytes_


def traffic(seeds: int) -> None:
    """Raw local stream vs upstream for simulated 8-hour shifts (MQTT topic + payload bytes)."""
    base = 1_767_225_600_000
    topic = f"seamline/v1/{ENT}/{SITE}/{LINE}/m001/"
    print(f"{'seed':>4} {'raw_msgs':>9} {'raw_kB':>9} {'raw60_msgs':>10} {'raw60_kB':>9} "
          f"{'up_msgs':>8} {'up_kB':>7} {'bytes_saved':>11}")
    for seed in range(seeds):
        run = simulate_machine(profile=MachineProfile(), start_ms=base, end_ms=base + SHIFT_MS, seed=seed)
        d = MachineDerivation(thresholds=Thresholds(), period_s=60)
        items: list[RawSample | Andon] = [
            RawSample(s.ts_ms, s.current_a, s.speed_spm, s.stitches_total, s.pieces_total) for s in run.samples
        ]
        items += [Andon(a.ts_ms, a.state, a.reason) for a in run.andon]
        outs = d.process(items)
        up_bytes = sum(len(topic) + 5 + len(wire.encode(o)) for o in outs)
        raw_msgs, raw_bytes = _raw_bytes(run, topic, 1)
        raw60_msgs, raw60_bytes = _raw_bytes(run, topic, 60)
        print(f"{seed:>4} {raw_msgs:>9} {raw_bytes / 1000:>9.0f} {raw60_msgs:>10} {raw60_bytes / 1000:>9.0f} "
              f"{len(outs):>8} {up_bytes / 1000:>7.0f} {1 - up_bytes / raw_bytes:>10.1%}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--seeds", type=int, default=3, help="simulated shifts (one machine each)")
    args = p.parse_args()
    traffic(args.seeds)


if __name__ == "__main__":
    main()

# mypy: disable-error-code="no-untyped-call"
"""µs per line: ``storage.line_protocol.encode_line`` vs ``influxdb_client.Point.to_line_protocol``,
measured in the same run on the same points (a sewing-machine sample: 4 tags, 8 fields).

    .venv/bin/python -m bench.line_protocol [--points 20000] [--repeats 5]

"warm": the tag values repeat (a site's few hundred assets, the normal case; escapes are cached);
"cold": every point has a new asset tag (worst case for the escape cache).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any

from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from seamline.storage.line_protocol import encode_line, escape_tag

Sample = tuple[str, dict[str, str], dict[str, Any], int]


def samples(n: int, *, distinct_assets: int | None) -> list[Sample]:
    out: list[Sample] = []
    for i in range(n):
        asset = f"sm-{i % distinct_assets if distinct_assets else i:05d}"
        tags = {"enterprise": "acme garments", "site": "s1", "area": "line-3", "asset": asset}
        fields: dict[str, Any] = {
            "current_a": 1.5 + i % 7 * 0.25,
            "speed_spm": 4200.0 + i % 13,
            "stitches": 1200 + i % 50,
            "pieces": i % 3,
            "run_s": 55.5,
            "idle_s": 4.5,
            "seq": i,
            "quality": "good",
        }
        out.append(("sewing_machine", tags, fields, 1_700_000_000_000 + i))
    return out


def ours(batch: Sequence[Sample]) -> list[str]:
    return [encode_line(m, t, f, ts) for m, t, f, ts in batch]


def theirs(batch: Sequence[Sample]) -> list[str]:
    out = []
    for m, t, f, ts in batch:
        p = Point(m)
        for k, v in t.items():
            p.tag(k, v)
        for k, v in f.items():
            p.field(k, v)
        p.time(ts, WritePrecision.MS)
        out.append(p.to_line_protocol())
    return out


def timed_us_per_line(fn: Callable[[Sequence[Sample]], list[str]], batch: Sequence[Sample]) -> float:
    t0 = time.perf_counter()
    fn(batch)
    return (time.perf_counter() - t0) / len(batch) * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    print(f"{'case':<6} {'encode_line µs/line':>20} {'Point µs/line':>14} {'Point/encode_line':>18}")
    for case, distinct in (("warm", 500), ("cold", None)):
        batch = samples(args.points, distinct_assets=distinct)
        # same series key and timestamp (the client formats floats and orders fields alike)
        a, b = ours(batch[:1])[0], theirs(batch[:1])[0]
        assert a.split(" ")[0] == b.split(" ")[0] and a.rsplit(" ", 1)[1] == b.rsplit(" ", 1)[1], (a, b)
        best_ours = best_theirs = float("inf")
        for _ in range(args.repeats):  # interleaved, best of N: the machine is shared and noisy
            if case == "cold":
                escape_tag.cache_clear()
            best_ours = min(best_ours, timed_us_per_line(ours, batch))
            best_theirs = min(best_theirs, timed_us_per_line(theirs, batch))
        print(f"{case:<6} {best_ours:>20.2f} {best_theirs:>14.2f} {best_theirs / best_ours:>17.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

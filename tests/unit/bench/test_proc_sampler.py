"""``bench.cluster_probe.ProcSampler``: the anonymous RSS it samples follows what a process
allocates (the memory sizing of ``bench.cluster_sustained`` rests on it), beside the whole RSS."""

from __future__ import annotations

import os
import time

from bench.cluster_probe import ProcSampler


def test_anonymous_rss_grows_with_what_the_process_allocates() -> None:
    sampler = ProcSampler({"me": os.getpid()}, interval_s=0.05)
    time.sleep(0.3)  # a few samples before
    block = bytearray(96 * 1024 * 1024)  # zero-filled: its pages are touched, so resident
    block[::4096] = b"\x01" * len(block[::4096])
    time.sleep(0.3)  # a few samples after
    figures = sampler.stop()
    peak, first = sampler.anon()["me"]
    assert peak - first >= 80.0  # MB: the 96 MB block, whatever else the interpreter freed meanwhile
    _cpu, _mean, rss_peak, _rss_first = figures["me"]
    assert peak <= rss_peak + 1.0  # the anonymous part of the RSS
    del block

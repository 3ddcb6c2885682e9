"""The second stage of ``seamline edge run``: the agent itself, in a process image without pydantic.

``seamline edge run --config FILE`` validates the file with pydantic (:mod:`edge_agent.cli`), hands
the validated :class:`edge_agent.settings.EdgeSettings` over in an anonymous memory file and
replaces its own process image with ``python -m seamline.edge_agent.runtime --settings-fd N``
(``execv``: the same PID, so systemd, signals and monitoring see one process). The agent that
runs then has never loaded pydantic or the contract models: ~12 MB less resident memory on a
gateway (bench/gateway_footprint.py). The validating image's peak RSS is logged by this stage
(``validated by an image that peaked at``) so that the process's true peak stays visible.

The settings are pickled: they are plain dataclasses of this package, written by the same
program a moment earlier into a file descriptor nothing else can reach.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
from typing import NoReturn

from seamline.edge_agent.settings import EdgeSettings
from seamline.logsetup import configure
from seamline.stop_signal import StopSignals

log = logging.getLogger(__name__)



def peak_rss_kb() -> int:
    """This process image's peak resident memory (VmHWM), 0 where /proc does not tell."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def settings_fd(settings: EdgeSettings) -> int:
    """An inheritable descriptor of an anonymous file holding ``settings``, positioned at 0."""
    data = pickle.dumps(settings, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        fd = os.memfd_create("seamline-edge-settings", 0)  # never on disk (it holds the password)
    except (AttributeError, OSError):  # not Linux: an unlinked temporary file
        import tempfile

        with tempfile.TemporaryFile() as f:
            fd = os.dup(f.fileno())
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.lseek(fd, 0, os.SEEK_SET)
    os.set_inheritable(fd, True)
    return fd


def exec_runtime(settings: EdgeSettings, *, log_level: int, log_json: bool = False) -> NoReturn:
    """Replace this process image with the runtime stage, handing ``settings`` over."""
    fd = settings_fd(settings)
    # -P: the working directory is not put on sys.path (a checkout's seamline/ folder there would
    # shadow the installed package, whose components live in other folders; bench/ runs from one).
    argv = [sys.executable, "-P", "-m", "seamline.edge_agent.runtime", "--settings-fd", str(fd),
            "--log-level", str(log_level), "--log-json", str(int(log_json)),
            "--validated-peak-kb", str(peak_rss_kb())]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)


def read_settings(fd: int) -> EdgeSettings:
    with os.fdopen(fd, "rb") as f:
        settings = pickle.load(f)
    if not isinstance(settings, EdgeSettings):
        raise SystemExit(f"seamline edge runtime: descriptor {fd} holds no edge settings")
    return settings


def parse_args(argv: list[str]) -> dict[str, int]:
    """``--settings-fd N [--log-level L] [--validated-peak-kb K]``: what :func:`exec_runtime` passes
    (no argparse: ~10 ms of a gateway's start-up for three integers)."""
    opts = {"--settings-fd": -1, "--log-level": logging.INFO, "--log-json": 0, "--validated-peak-kb": 0}
    if len(argv) % 2 or any(k not in opts for k in argv[::2]):
        raise SystemExit("usage: python -m seamline.edge_agent.runtime --settings-fd N (by `seamline edge run`)")
    try:
        opts.update({k: int(v) for k, v in zip(argv[::2], argv[1::2], strict=True)})
    except ValueError:
        raise SystemExit("seamline edge runtime: option values are integers") from None
    if opts["--settings-fd"] < 0:
        raise SystemExit("seamline edge runtime: --settings-fd is required (started by `seamline edge run`)")
    return {k.lstrip("-").replace("-", "_"): v for k, v in opts.items()}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configure(args["log_level"], "json" if args["log_json"] else "text")
    if args["log_level"] > logging.DEBUG:
        # pymodbus logs an ERROR per failed request (one a second per offline device); the poller
        # says it once per device state change, with the cause. -v shows pymodbus again.
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    settings = read_settings(args["settings_fd"])
    signals = StopSignals().install()
    if args["validated_peak_kb"]:
        log.info("config validated by an image that peaked at %.1f MB RSS; running without pydantic",
                 args["validated_peak_kb"] / 1024)
    from seamline.edge_agent.service import serve  # after the signal handlers: paho, sqlite

    serve(settings, signals.event)
    return signals.exit_code(0)


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        raise SystemExit(130) from None

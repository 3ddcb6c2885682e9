"""The rendered units: paths follow the install, exit 2 never restarts, SIGTERM's 143 is success."""

from __future__ import annotations

from pathlib import PurePosixPath

from seamline.deploy.systemd import SERVICES, Install, render

INST = Install(executable=PurePosixPath("/srv/venvs/sl/bin/seamline"), config_dir=PurePosixPath("/srv/conf"),
               user="telemetry")


def _keys(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


def test_every_service_gets_a_unit_and_the_user_files() -> None:
    files = render(INST)
    assert sorted(files) == sorted([*(f"seamline-{s}.service" for s in SERVICES),
                                    "sysusers.d/seamline.conf", "tmpfiles.d/seamline.conf"])
    assert 'u telemetry - "seamline telemetry services" /var/lib/seamline -' in files["sysusers.d/seamline.conf"]
    assert "d /srv/conf 0750 root telemetry -" in files["tmpfiles.d/seamline.conf"]


def test_paths_follow_the_install() -> None:
    keys = _keys(render(INST)["seamline-ingest.service"])
    assert keys["ExecStart"] == ["/srv/venvs/sl/bin/seamline ingest --config /srv/conf/ingest.yaml"]
    confirm = _keys(render(INST)["seamline-confirm.service"])
    assert confirm["ExecStart"] == ["/srv/venvs/sl/bin/seamline ingest confirm --config /srv/conf/ingest.yaml"]
    assert keys["EnvironmentFile"] == ["-/srv/conf/ingest.env"]
    assert keys["User"] == ["telemetry"] and keys["StateDirectory"] == ["seamline-ingest"]
    assert not any("/opt/" in line for text in render(INST).values() for line in text.splitlines())


def test_a_configuration_error_is_not_restarted_and_sigterm_is_success() -> None:
    for name in SERVICES:
        keys = _keys(render(INST)[f"seamline-{name}.service"])
        assert keys["Restart"] == ["on-failure"], name
        assert keys["RestartPreventExitStatus"] == ["2"], name
        assert keys["SuccessExitStatus"] == ["143"], name


def test_config_errors_are_left_to_the_service_itself() -> None:
    """No ExecStartPre check: its failure would be restarted; the service's own exit 2 is not."""
    keys = _keys(render(INST, ("edge",))["seamline-edge.service"])
    assert "ExecStartPre" not in keys
    assert "mosquitto.service" in keys["After"][0]
    assert sorted(render(INST, ("edge",))) == ["seamline-edge.service", "sysusers.d/seamline.conf",
                                                "tmpfiles.d/seamline.conf"]

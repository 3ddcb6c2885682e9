"""PointWriter for InfluxDB 2.x (and 1.8+'s ``/api/v2/write`` compatibility endpoint) through
influxdb-client's synchronous WriteApi, with its errors mapped onto ``storage.write_errors``."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import urllib3.exceptions
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException
from pydantic import SecretStr

from seamline.secret_source import redact_url
from seamline.storage.write_errors import RetryableWriteError, WriteError, error_for_status

__all__ = ["InfluxV2Writer"]


def _headers_of(exc: ApiException) -> Mapping[str, str]:
    raw: Any = getattr(exc, "headers", None)
    if raw is None:
        return {}
    return {str(k): str(v) for k, v in dict(raw).items()}


class InfluxV2Writer:
    """Write lines (ms precision) to ``bucket`` in ``org``. For the 1.8 compatibility endpoint the
    bucket is ``database/retention_policy`` and the token ``username:password``.

    influxdb-client's own retries are off (``retries=False``): the write policy owns retrying, so
    waits stay visible, jittered and stoppable. Raises only ``WriteError`` subclasses.
    """

    def __init__(
        self,
        *,
        url: str,
        org: str,
        bucket: str,
        token: SecretStr,
        timeout_s: float = 10.0,
        gzip: bool = False,
    ) -> None:
        if not bucket:
            raise ValueError("bucket must not be empty")
        self._bucket = bucket
        self._org = org
        self._client = InfluxDBClient(
            url=url,
            token=token.get_secret_value(),
            org=org,
            timeout=int(timeout_s * 1000),
            enable_gzip=gzip,
            retries=False,
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        self._lock = threading.Lock()
        self.target = f"{redact_url(url)} org={org} bucket={bucket}"

    def __repr__(self) -> str:  # no token
        return f"InfluxV2Writer({self.target})"

    def write(self, lines: Sequence[str]) -> None:
        """Write ``lines`` (ms timestamps); return once the server answered 204."""
        if not lines:
            return
        batch = list(lines)
        with self._lock:
            try:
                self._write_api.write(
                    bucket=self._bucket, org=self._org, record=batch, write_precision=WritePrecision.MS,  # type: ignore[arg-type]
                )
            except ApiException as exc:
                status = int(exc.status) if exc.status is not None else 0
                if status == 0:
                    raise RetryableWriteError(f"{self.target}: no HTTP status: {exc.reason}") from exc
                raise error_for_status(status, exc.body or b"", _headers_of(exc), batch) from exc
            except WriteError:
                raise
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise RetryableWriteError(f"{self.target}: {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._write_api.close()  # type: ignore[no-untyped-call]
            self._client.close()  # type: ignore[no-untyped-call]

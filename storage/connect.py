"""Open the configured InfluxDB: a point writer for one retention policy and an InfluxQL client,
for 1.x (``/write``, Basic auth) or 2.x/3.x (v2 write API into the policy's bucket, token auth on
the DBRP-mapped ``/query``). Nothing connects until the first request."""

from __future__ import annotations

from seamline.storage.config import InfluxConfig
from seamline.storage.query_client import InfluxQLClient
from seamline.storage.schema import Retention
from seamline.storage.write_policy import PointWriter

__all__ = ["point_writer", "query_client"]


def point_writer(config: InfluxConfig, retention: Retention) -> PointWriter:
    """The writer for ``retention``'s policy (``raw`` for ingest, ``kpi`` for the rules engine)."""
    if config.version == 1:
        from seamline.storage.writer_v1 import InfluxV1Writer

        return InfluxV1Writer(
            url=config.url,
            database=config.database,
            retention_policy=config.rp(retention),
            username=config.username,
            password=config.password,
            timeout_s=config.timeout_s,
            gzip=config.gzip,
        )
    from seamline.storage.writer_v2 import InfluxV2Writer

    if config.token is None:  # the config model refuses version 2 without a token
        raise ValueError("InfluxDB 2.x needs a token")
    return InfluxV2Writer(
        url=config.url,
        org=config.org,
        bucket=config.bucket(retention),
        token=config.token,
        timeout_s=config.timeout_s,
        gzip=config.gzip,
    )


def query_client(config: InfluxConfig) -> InfluxQLClient:
    """InfluxQL over ``/query``: 1.x user/password, or the 2.x/3.x token."""
    if config.version == 1:
        return InfluxQLClient(url=config.url, username=config.username, password=config.password,
                              timeout_s=config.query_timeout_s)
    return InfluxQLClient(url=config.url, token=config.token, timeout_s=config.query_timeout_s)

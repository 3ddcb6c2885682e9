"""``seamline dashboards provision``: the same set through Grafana's HTTP API (``grafana-client``).

Idempotent: the folder and the data source are created only when their uid is missing (the data
source is updated when its settings differ); a dashboard is saved only when it differs from the
stored one (``id`` and ``version`` ignored) or sits in another folder, with a message saying why,
so Grafana's version history grows only with real changes. Dashboards in the folder that the set
no longer has are reported, never deleted. A Grafana that does not answer (connection refused,
5xx, timeout) is retried with jittered, capped backoff, a bounded number of times.
"""

from __future__ import annotations

import enum
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import niquests
from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException, GrafanaServerError, GrafanaTimeoutError

from seamline.backoff import Backoff
from seamline.dashboards.catalog import Built
from seamline.dashboards.settings import DashboardSettings

__all__ = ["Outcome", "ProvisionError", "ProvisionReport", "Provisioner", "RetryPolicy"]

log = logging.getLogger(__name__)
T = TypeVar("T")
# Keys Grafana sets on its own: comparing them would call every stored dashboard "changed".
_SERVER_KEYS = ("id", "version")
# Data source keys we own (Grafana adds others: id, orgId, readOnly, secureJsonFields, ...).
_DS_KEYS = ("name", "type", "access", "url", "user", "jsonData", "isDefault")


class ProvisionError(Exception):
    """Grafana refused a request, or did not answer within the retry budget."""


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Attempts per request and the backoff between them (seconds)."""

    attempts: int = 5
    initial_s: float = 0.5
    max_s: float = 10.0


@dataclass(frozen=True, slots=True)
class ProvisionReport:
    folder: Outcome
    datasource: Outcome
    dashboards: Mapping[str, Outcome]  # uid -> outcome
    unknown_in_folder: tuple[str, ...]  # uids in the folder that the set does not have


def _not_found(exc: GrafanaClientError) -> bool:
    return bool(exc.status_code == 404)


def _strip(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in _SERVER_KEYS}


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


class Provisioner:
    """Provisions a built dashboard set into one Grafana organisation through ``api``."""

    def __init__(self, api: GrafanaApi, settings: DashboardSettings, *, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> None:
        self._api: Any = api  # grafana-client is untyped
        self._settings = settings
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        backoff = Backoff(initial_s=self._retry.initial_s, max_s=self._retry.max_s, random=self._rng.random)
        for attempt in range(1, self._retry.attempts + 1):
            try:
                return fn()
            except GrafanaClientError:
                raise  # 4xx: the caller decides (404 = missing); retrying would not help
            except (GrafanaServerError, GrafanaTimeoutError, niquests.exceptions.ConnectionError,
                    niquests.exceptions.Timeout) as exc:
                if attempt == self._retry.attempts:
                    raise ProvisionError(f"{what}: Grafana did not answer after {attempt} attempts: {exc}") from exc
                delay = backoff.next_delay_s()
                log.warning("%s: %s; retry %d/%d in %.1f s", what, exc, attempt, self._retry.attempts, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _get(self, what: str, fn: Callable[[], T]) -> T | None:
        try:
            return self._call(what, fn)
        except GrafanaClientError as exc:
            if _not_found(exc):
                return None
            raise ProvisionError(f"{what}: {exc}") from exc

    def _send(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return self._call(what, fn)
        except GrafanaException as exc:
            raise ProvisionError(f"{what}: {exc}") from exc

    def folder(self) -> Outcome:
        s = self._settings
        if self._get(f"folder {s.folder_uid}", lambda: self._api.folder.get_folder(s.folder_uid)) is not None:
            return Outcome.UNCHANGED
        self._send(f"create folder {s.folder_uid}", lambda: self._api.folder.create_folder(s.folder_title,
                                                                                           uid=s.folder_uid))
        return Outcome.CREATED

    def datasource(self, body: Mapping[str, Any]) -> Outcome:
        """``body`` with real secrets in ``secureJsonData`` (sent on create and update only)."""
        uid = self._settings.datasource_uid
        stored = self._get(f"data source {uid}", lambda: self._api.datasource.get_datasource_by_uid(uid))
        if stored is None:
            self._send(f"create data source {uid}", lambda: self._api.datasource.create_datasource(dict(body)))
            return Outcome.CREATED
        ours = {k: body[k] for k in _DS_KEYS if k in body}
        theirs = {k: stored.get(k) for k in ours}
        if ours == theirs:
            return Outcome.UNCHANGED
        self._send(f"update data source {uid}",
                   lambda: self._api.datasource.update_datasource_by_uid(uid, dict(body)))
        return Outcome.UPDATED

    def dashboard(self, built: Built, *, message_prefix: str = "seamline dashboards provision") -> Outcome:
        uid, folder = built.uid, self._settings.folder_uid
        doc = _strip(built.document)
        stored = self._get(f"dashboard {uid}", lambda: self._api.dashboard.get_dashboard(uid))
        if stored is not None:
            old = _strip(stored.get("dashboard", {}))
            keys = _changed_keys(old, doc)
            moved = stored.get("meta", {}).get("folderUid") != folder
            if not keys and not moved:
                return Outcome.UNCHANGED
            why = f"changed: {', '.join(keys)}" if keys else "moved into folder " + folder
        else:
            why = "created"
        payload = {"dashboard": doc, "folderUid": folder, "overwrite": stored is not None,
                   "message": f"{message_prefix}: {why}"}
        self._send(f"save dashboard {uid}", lambda: self._api.dashboard.update_dashboard(payload))
        return Outcome.UPDATED if stored is not None else Outcome.CREATED

    def unknown_in_folder(self, uids: set[str]) -> tuple[str, ...]:
        folder = self._settings.folder_uid
        found = self._send("search", lambda: self._api.search.search_dashboards(type_="dash-db",
                                                                                 folder_uids=folder))
        return tuple(sorted(str(d["uid"]) for d in found if str(d.get("uid")) not in uids))

    def run(self, built: list[Built], datasource_body: Mapping[str, Any]) -> ProvisionReport:
        folder = self.folder()
        ds = self.datasource(datasource_body)
        outcomes = {b.uid: self.dashboard(b) for b in built}
        return ProvisionReport(folder, ds, outcomes, self.unknown_in_folder(set(outcomes)))

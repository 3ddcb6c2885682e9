"""A fake of the part of Grafana's HTTP API that ``seamline dashboards provision`` uses, on a
loopback port, following Grafana's documented behaviour (no Grafana server runs here):

* ``Authorization: Bearer <token>`` on every request, else 401 ``{"message": "Unauthorized"}``;
* ``GET /api/folders/:uid`` (404 ``Folder not found``), ``POST /api/folders`` ``{uid, title}``
  (409 if the uid exists);
* ``GET /api/datasources/uid/:uid`` (404 ``Data source not found``), ``POST /api/datasources``
  (409 if name or uid exists), ``PUT /api/datasources/uid/:uid``;
* ``POST /api/dashboards/db`` ``{dashboard, folderUid, overwrite, message}``: a new uid is stored at
  version 1; an existing uid without ``overwrite`` is 412 ``version-mismatch``; with it, version + 1.
  Every save is kept as a version with its message (what Grafana's version history shows);
* ``GET /api/dashboards/uid/:uid`` -> ``{dashboard, meta: {folderUid, version}}`` (404 if missing);
* ``GET /api/search?type=dash-db&folderUIDs=..`` -> ``[{uid, title, type, folderUid}]``.

``fail_next`` makes the next N requests answer 503 (a Grafana restarting)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeGrafana", "SavedVersion"]


@dataclass
class SavedVersion:
    version: int
    message: str
    dashboard: dict[str, Any]


@dataclass
class _State:
    token: str
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> {dashboard, folderUid}
    history: dict[str, list[SavedVersion]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    fail_next: int = 0
    next_id: int = 1


class _Handler(BaseHTTPRequestHandler):
    state: _State
    lock: threading.Lock

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n)) if n else None

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        body = self._body() if method in ("POST", "PUT") else None
        with self.lock:
            st = self.state
            st.requests.append((method, url.path))
            if st.fail_next > 0:
                st.fail_next -= 1
                return self._reply(503, {"message": "Service unavailable"})
            if self.headers.get("Authorization") != f"Bearer {st.token}":
                return self._reply(401, {"message": "Unauthorized"})
            status, out = _route(st, method, url.path, parse_qs(url.query), body)
        self._reply(status, out)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")


def _route(st: _State, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, object]:
    parts = path.strip("/").split("/")
    if parts[:2] == ["api", "folders"]:
        return _folders(st, method, parts[2:], body)
    if parts[:2] == ["api", "datasources"]:
        return _datasources(st, method, parts[2:], body)
    if parts[:3] == ["api", "dashboards", "db"] and method == "POST":
        return _save(st, body)
    if parts[:3] == ["api", "dashboards", "uid"] and method == "GET" and len(parts) == 4:
        d = st.dashboards.get(parts[3])
        if d is None:
            return 404, {"message": "Dashboard not found"}
        return 200, {"dashboard": d["dashboard"], "meta": {"folderUid": d["folderUid"],
                                                            "version": d["dashboard"]["version"]}}
    if parts[:2] == ["api", "search"] and method == "GET":
        folders = set(query.get("folderUIDs", []))
        return 200, [{"uid": uid, "title": d["dashboard"].get("title"), "type": "dash-db", "folderUid": d["folderUid"]}
                     for uid, d in sorted(st.dashboards.items()) if not folders or d["folderUid"] in folders]
    return 404, {"message": "Not found"}


def _folders(st: _State, method: str, rest: list[str], body: Any) -> tuple[int, object]:
    if method == "GET" and len(rest) == 1:
        f = st.folders.get(rest[0])
        return (200, f) if f else (404, {"message": "Folder not found"})
    if method == "POST" and not rest:
        uid = body.get("uid") or f"f{st.next_id}"
        if uid in st.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        st.folders[uid] = {"id": st.next_id, "uid": uid, "title": body["title"], "version": 1}
        st.next_id += 1
        return 200, st.folders[uid]
    return 404, {"message": "Not found"}


def _datasources(st: _State, method: str, rest: list[str], body: Any) -> tuple[int, object]:
    if method == "GET" and len(rest) == 2 and rest[0] == "uid":
        ds = st.datasources.get(rest[1])
        return (200, ds) if ds else (404, {"message": "Data source not found"})
    if method == "POST" and not rest:
        if body["uid"] in st.datasources or any(d["name"] == body["name"] for d in st.datasources.values()):
            return 409, {"message": "data source with the same name already exists"}
        st.datasources[body["uid"]] = _stored_ds(st, body)
        return 200, {"datasource": st.datasources[body["uid"]], "message": "Datasource added"}
    if method == "PUT" and len(rest) == 2 and rest[0] == "uid":
        if rest[1] not in st.datasources:
            return 404, {"message": "Data source not found"}
        st.datasources[rest[1]] = _stored_ds(st, body)
        return 200, {"datasource": st.datasources[rest[1]], "message": "Datasource updated"}
    return 404, {"message": "Not found"}


def _stored_ds(st: _State, body: dict[str, Any]) -> dict[str, Any]:
    """As Grafana answers it: secrets are never returned, only which ones are set."""
    out = {k: v for k, v in body.items() if k != "secureJsonData"}
    out["secureJsonFields"] = {k: True for k in body.get("secureJsonData", {})}
    out["id"] = st.next_id
    out["orgId"] = 1
    out["readOnly"] = False
    st.next_id += 1
    return out


def _save(st: _State, body: dict[str, Any]) -> tuple[int, object]:
    dash = dict(body["dashboard"])
    uid = dash.get("uid")
    if not uid:
        return 400, {"message": "uid required"}
    folder = body.get("folderUid", "")
    if folder and folder not in st.folders:
        return 400, {"message": "folder not found"}
    old = st.dashboards.get(uid)
    if old is not None and not body.get("overwrite"):
        return 412, {"status": "version-mismatch", "message": "The dashboard has been changed by someone else"}
    dash["id"] = old["dashboard"]["id"] if old else st.next_id
    dash["version"] = old["dashboard"]["version"] + 1 if old else 1
    st.next_id += 0 if old else 1
    st.dashboards[uid] = {"dashboard": dash, "folderUid": folder}
    st.history.setdefault(uid, []).append(SavedVersion(dash["version"], body.get("message", ""), dash))
    return 200, {"id": dash["id"], "uid": uid, "status": "success", "version": dash["version"],
                 "url": f"/d/{uid}"}


class FakeGrafana:
    """``with FakeGrafana(token="t") as g: g.url ...`` — a fresh, empty Grafana per instance."""

    def __init__(self, *, token: str) -> None:
        self.state = _State(token=token)
        lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"state": self.state, "lock": lock})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeGrafana:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

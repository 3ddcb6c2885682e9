"""matching.capacity_feed from a file and over HTTP: the sample reads; a body that is not JSON, not
UTF-8, or holds an integer Python will not convert is one CapacityInputError naming the source
(never a traceback), and the bearer token never appears in it. HTTP against a real server on a
free loopback port."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from seamline.contracts.carbon import CarbonMessage
from seamline.matching.capacity_feed import from_file, from_http, side_from_file
from seamline.matching.errors import CapacityInputError

SAMPLE = Path(__file__).resolve().parents[3] / "matching" / "samples" / "capacity.json"
BROKEN = [
    (b"[{", "not valid JSON: Expecting"),
    (b'[{"operators": ' + b"9" * 4301 + b"}]", "not valid JSON: Exceeds the limit"),
    (b"<html>login</html>", "not valid JSON: Expecting value"),
]


def test_the_sample_file_reads() -> None:
    feed = from_file(SAMPLE)
    assert feed.messages and not feed.rejected


@pytest.mark.parametrize(("body", "problem"), [*BROKEN, (b"\xff\xfe[]", "not UTF-8 text (byte 0)")])
def test_a_broken_file_is_one_error_naming_it(tmp_path: Path, body: bytes, problem: str) -> None:
    path = tmp_path / "capacity.json"
    path.write_bytes(body)
    with pytest.raises(CapacityInputError) as exc:
        from_file(path)
    assert str(exc.value).startswith(f"capacity {path}: ") and problem in str(exc.value)
    with pytest.raises(CapacityInputError) as side:  # the same reader (configfile.read_document)
        side_from_file(path, CarbonMessage, key="carbon")
    assert str(side.value).startswith(f"carbon {path}: ") and problem in str(side.value)


class _Body(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # the stdlib handler's name
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.HTTPServer]:
    srv = http.server.HTTPServer(("127.0.0.1", 0), _Body)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_the_sample_over_http(server: http.server.HTTPServer) -> None:
    _Body.body = SAMPLE.read_bytes()
    feed = from_http(f"http://127.0.0.1:{server.server_port}/capacity")
    assert len(feed.messages) == len(from_file(SAMPLE).messages) and not feed.rejected


@pytest.mark.parametrize(("body", "problem"), BROKEN)
def test_a_body_that_is_not_json_is_one_error_without_the_token(
    server: http.server.HTTPServer, body: bytes, problem: str
) -> None:
    _Body.body = body
    with pytest.raises(CapacityInputError) as exc:
        from_http(f"http://127.0.0.1:{server.server_port}/capacity", token=SecretStr("s3cret-token"))
    assert str(exc.value).startswith(f"capacity http://127.0.0.1:{server.server_port}/capacity: ")
    assert problem in str(exc.value) and "s3cret" not in str(exc.value)

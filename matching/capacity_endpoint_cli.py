"""``seamline capacity-endpoint``: run the capacity HTTP endpoint (``matching.capacity_endpoint``).

    seamline capacity-endpoint --listen 127.0.0.1:8099 --token-file /etc/seamline/capacity-token
        [--tls-cert server.pem --tls-key server.key [--client-ca ca.pem]]

The token comes from ``--token-file`` or ``--token-env VAR`` only; rules sends it with
``capacity.http_token_file``, ``seamline match --capacity URL --capacity-token-file``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from seamline.errors import UsageError
from seamline.secret_source import SecretSourceError, resolve_secret


def register(sub: Any) -> None:
    p = sub.add_parser("capacity-endpoint", help="the capacity HTTP endpoint (bearer token, optional mTLS)")
    p.add_argument("--listen", default="127.0.0.1:8099", help="host:port (default 127.0.0.1:8099)")
    p.add_argument("--token-file", help="file holding the bearer token")
    p.add_argument("--token-env", metavar="VAR", help="environment variable holding the bearer token")
    p.add_argument("--tls-cert", help="HTTPS: server certificate")
    p.add_argument("--tls-key", help="HTTPS: its key")
    p.add_argument("--client-ca", help="HTTPS: require client certificates signed by this CA (mTLS)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from seamline.matching.capacity_endpoint import CapacityEndpoint, server_tls

    try:
        token = resolve_secret(file=args.token_file, env=args.token_env, what="capacity endpoint token")
    except SecretSourceError as exc:
        raise UsageError(str(exc)) from None
    if token is None:
        raise UsageError("give --token-file FILE or --token-env VAR: the endpoint never runs without a token")
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--listen {args.listen!r}: expected host:port")
    if (args.tls_cert is None) != (args.tls_key is None) or (args.client_ca and not args.tls_cert):
        raise UsageError("--tls-cert and --tls-key go together; --client-ca needs them")
    tls = server_tls(cert=args.tls_cert, key=args.tls_key, client_ca=args.client_ca) if args.tls_cert else None
    ep = CapacityEndpoint(host=host, port=int(port), token=token, tls=tls)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    ep.start()
    print(f"seamline capacity-endpoint: serving {ep.url}", file=sys.stderr, flush=True)
    stop.wait()
    ep.stop()
    return 0

"""Apply a service's :class:`~seamline.mqtt_identity.MqttIdentity` to a paho client, and connect
short-lived clients (rules' publisher and bookings reader, matching) *synchronously*: return once
the broker's CONNACK accepted us, else raise :class:`MqttConnectError` with one line saying why —
refused TLS, a CONNACK reason such as "Not authorized", or no answer in time. Without the wait a
refused client would subscribe into the void and report an empty broker."""

from __future__ import annotations

import ssl
import threading

import paho.mqtt.client as mqtt

from seamline.errors import UnavailableError
from seamline.mqtt_identity import MqttIdentity, ssl_context


class MqttConnectError(UnavailableError):
    """The broker could not be reached, refused the TLS handshake or refused the CONNECT."""


def apply_identity(client: mqtt.Client, identity: MqttIdentity) -> None:
    """TLS context and user name/password on ``client`` (before connecting)."""
    try:
        ctx = ssl_context(identity)
    except ValueError as exc:
        raise MqttConnectError(str(exc)) from None
    if ctx is not None:
        client.tls_set_context(ctx)
    if identity.username:
        client.username_pw_set(identity.username,
                               identity.password.get_secret_value() if identity.password else None)


def broker_label(host: str, port: int, identity: MqttIdentity) -> str:
    return f"{'mqtts' if identity.uses_tls else 'mqtt'}://{host}:{port} as {identity.describe()}"


def connect_and_wait(client: mqtt.Client, host: str, port: int, identity: MqttIdentity, *,
                     timeout_s: float = 10.0, keepalive_s: int = 30) -> None:
    """Connect ``client`` (identity already applied), start its loop and wait for an accepting
    CONNACK; on failure the loop is stopped and :class:`MqttConnectError` raised."""
    label = broker_label(host, port, identity)
    done = threading.Event()
    outcome: list[str] = []
    prev_connect, prev_disconnect = client.on_connect, client.on_disconnect

    def on_connect(c: mqtt.Client, u: object, flags: object, reason: object, props: object) -> None:
        if getattr(reason, "is_failure", False):
            outcome.append(f"refused by the broker: {reason}")
        done.set()

    def on_disconnect(c: mqtt.Client, u: object, flags: object, reason: object, props: object) -> None:
        outcome.append(f"connection closed before CONNACK ({reason}); a TLS client certificate the broker "
                       "does not accept ends this way")
        done.set()

    client.on_connect, client.on_disconnect = on_connect, on_disconnect
    try:
        client.connect(host, port, keepalive=keepalive_s)
        client.loop_start()
        ok = done.wait(timeout_s)
    except ssl.SSLError as exc:
        raise MqttConnectError(f"cannot connect to {label}: TLS: {exc.reason or type(exc).__name__}") from None
    except OSError as exc:
        raise MqttConnectError(f"cannot connect to {label}: {exc.strerror or type(exc).__name__}") from None
    finally:
        client.on_connect, client.on_disconnect = prev_connect, prev_disconnect
    if ok and not outcome:
        return
    client.disconnect()
    client.loop_stop()
    why = outcome[0] if outcome else f"no CONNACK within {timeout_s} s"
    raise MqttConnectError(f"cannot connect to {label}: {why}")

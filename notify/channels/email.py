"""E-mail over SMTP (stdlib ``smtplib``): subject = the title, body = the plain text, UTF-8.

SMTP says what kind of failure it is: 4xx replies and lost connections are retried; a 5xx reply
to the message itself (sender, recipients, data) is permanent. A failed login is retried: it is
a configuration problem someone will fix, and the message must survive until then.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from seamline.notify.channels.base import PermanentSendError, RetryableSendError
from seamline.notify.config import EmailChannel
from seamline.notify.message import OutboxMessage


def build_email(cfg: EmailChannel, message: OutboxMessage) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = message.title
    mail["From"] = cfg.sender
    mail["To"] = ", ".join(cfg.to)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(idstring=message.id[:32], domain="seamline.notify")
    mail["X-Seamline-Message-Id"] = message.id
    mail.set_content(message.text + "\n", charset="utf-8")
    return mail


class EmailSender:
    kind = "email"

    def __init__(self, cfg: EmailChannel) -> None:
        self._cfg = cfg

    def _connect(self) -> smtplib.SMTP:
        cfg = self._cfg
        if cfg.security == "ssl":
            return smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_s, context=ssl.create_default_context())
        smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
        if cfg.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def send(self, message: OutboxMessage) -> None:
        self.send_mail(build_email(self._cfg, message))

    def send_mail(self, mail: EmailMessage) -> None:
        """Send a prepared message (e.g. ``seamline report``'s, with the report attached) through this
        channel's server; the same typed errors as :meth:`send`."""
        cfg = self._cfg
        try:
            with self._connect() as smtp:
                if cfg.username is not None and cfg.password is not None:
                    smtp.login(cfg.username, cfg.password.get_secret_value())
                smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise RetryableSendError(f"email: login refused ({exc.smtp_code})") from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            self._raise(exc.smtp_code, exc.smtp_error)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            self._raise(min(codes) if codes else 450, b"recipients refused")
        except (smtplib.SMTPException, OSError) as exc:
            raise RetryableSendError(f"email: {type(exc).__name__} talking to {cfg.host}:{cfg.port}") from None

    @staticmethod
    def _raise(code: int, text: bytes | str) -> None:
        detail = text.decode(errors="replace") if isinstance(text, bytes) else text
        if 500 <= code < 600:
            raise PermanentSendError(f"email: SMTP {code} {detail[:200]}")
        raise RetryableSendError(f"email: SMTP {code} {detail[:200]}")

    def close(self) -> None:
        pass

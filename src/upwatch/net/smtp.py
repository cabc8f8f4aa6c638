"""Sending email through the operator's SMTP server (stdlib smtplib, in a worker thread)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from upwatch.settings import Settings

SMTP_TIMEOUT_SECONDS = 15


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    text: str
    html: str | None = None  # sent as the alternative to `text` when given


def email_configured(settings: Settings) -> bool:
    return settings.smtp_host is not None


async def send_email(settings: Settings, email: Email) -> None:
    """Send, or raise `smtplib.SMTPException` / `OSError` saying why not."""
    await asyncio.to_thread(_send, settings, email)


def _send(settings: Settings, email: Email) -> None:
    assert settings.smtp_host is not None
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = email.to
    message["Subject"] = email.subject
    message.set_content(email.text)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if settings.smtp_security == "tls":
        client = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS, context=context
        )
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        if settings.smtp_security == "starttls":
            client.starttls(context=context)
        if settings.smtp_username and settings.smtp_password:
            client.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        client.send_message(message)

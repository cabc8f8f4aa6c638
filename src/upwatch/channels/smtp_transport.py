"""Sending a message through the operator's SMTP server (`net/smtp.py`), and what its
answer means: refused recipients or sender and SMTP 5xx are final, the rest worth a retry."""

from __future__ import annotations

import smtplib

from upwatch.channels.base import PermanentDeliveryError, Receipt, TransientDeliveryError
from upwatch.channels.render import Message
from upwatch.net.smtp import Email, email_configured, send_email
from upwatch.settings import Settings


async def send_mail(settings: Settings, to: list[str], message: Message) -> Receipt:
    if not email_configured(settings):
        raise PermanentDeliveryError("email is not configured (UPWATCH_SMTP_HOST)")
    email = Email(to=", ".join(to), subject=message.subject, text=message.text, html=message.html)
    try:
        await send_email(settings, email)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        raise PermanentDeliveryError(f"refused: {exc}") from None
    except smtplib.SMTPResponseException as exc:
        text = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
        if 500 <= exc.smtp_code < 600:
            raise PermanentDeliveryError(text) from None
        raise TransientDeliveryError(text) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientDeliveryError(f"{type(exc).__name__}: {exc}") from None
    return Receipt()

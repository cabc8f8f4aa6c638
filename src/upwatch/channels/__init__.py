"""Notification channel kinds: one module per kind (its config schema, secret fields,
validation, rendering and `send`), the `NOTIFIERS` registry, and the transports they share
(Apprise, SMTP, signed HTTP). Pure adapters: no database, no API, no engine."""

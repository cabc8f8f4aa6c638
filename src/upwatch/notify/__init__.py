"""Alerting: channels, routing, templates, maintenance windows, silences and delivery."""

"""Incidents: opened when a monitor or heartbeat goes down, resolved when it recovers."""

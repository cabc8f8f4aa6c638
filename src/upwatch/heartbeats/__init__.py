"""Heartbeats: cron jobs and scripts that ping Upwatch. Silence, failures and runs that
never end raise the alarm."""

"""The heartbeat runtime: the ping writer (group commit) and the deadline watcher."""

"""The `upwatch` command line."""

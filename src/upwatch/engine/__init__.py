"""The long-running runtime: scheduler → runner → writer, with the pure policy in between."""

"""The check side of the engine: which monitors are due (schedule, scheduler, shards) and
running their probes (runner), which turns what a probe saw into an Observation."""

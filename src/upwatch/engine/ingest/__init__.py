"""The ingest side of the engine: Observations in (from local checks today, remote probes
later), judged (evaluate) and written in batches (writer, rollups), held through a database
outage (backlog, spool, record_codec). It never imports the check side."""

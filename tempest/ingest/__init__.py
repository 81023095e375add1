"""Ingest: every delivery route ends in the drop folder; one worker validates and stores.

- `dropbox`: writing into and scanning the drop folder (atomic names, what counts as ready)
- `watcher`: the watchdog handler (it only queues paths) and the observer's upkeep
- `process`: one batch of files: parse, store, then archive or quarantine
- `quarantine`: bad files, their reason files and rows, re-ingest and discard
- `service`: the worker thread: queue, scans, observer health, its lock and published state
"""

"""Sinks: every stored day handed on, through a persistent queue in the store (docs/sinks.md).

- `settings`: the TEMPEST_SINK_* settings and their checks
- `queue`: the queue's SQL (enqueue in the ingest transaction, head, ack, defer, dead, retry)
- `registry`: which sinks the settings switch on, written to the store for the ingest hook
- `backoff`: failures (what kind, what to do) and the retry delay
- `lineproto`, `influx`: the InfluxDB sink (batched line protocol)
- `formats`, `mdms`: the MDMS push and its three payload formats
- `worker`, `service`: one delivery thread per sink, started beside the ingest worker
- `status`: plain dicts for the CLI, the API and the web UI
- `reference_mdms`: a small MDMS receiver for tests and for trying the push out
- `cli`: `tempest sinks ...`
"""

"""Getting sealed day files from the meter to Tempest, and the meter's side of the head-end.

One module per job (docs/delivery.md):

- settings.py   the `delivery`, `heartbeat` and `agent` config sections, with defaults
- folders.py    the outbox, sent/ and rejected/ folders: order, moves, reasons, the pass lock
- state.py      the retry state (capped exponential backoff with jitter) kept in delivery.json
- events.py     every delivery outcome, logged and appended to delivery.log with its reason
- transport.py  one HTTP request to Tempest, sorted into sent / rejected / retry
- checks.py     what the meter checks itself before sending a file
- upload.py     the HTTP pass: the outbox oldest first, then (optionally) the open day
- rsync.py      the rsync-over-SSH pass into Tempest's drop folder
- route.py      one delivery pass by `delivery.mode`
- status.py     backlog, last tick, free disk, address: what heartbeats and the agent report
- heartbeat.py  the heartbeat POST
- redial.py     re-sending a range of past days, from sent/ or regenerated
"""

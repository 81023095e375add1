"""A Pi meter as a DLMS/COSEM server (IEC 62056, TCP with the wrapper): docs/dlms.md.

`source` is what the meter knows at an instant (its clock, registers, power), `profile` and
`events` the rows of its load profile and logs, `objects` the COSEM objects that serve them
(on PyPI's gurux-dlms), `server` the TCP listener and `cli` the `meter dlms-serve` command.
Every value comes from the same model and registers as the day files.
"""

DEFAULT_PORT = 4059
DEFAULT_PROFILE_DAYS = 40

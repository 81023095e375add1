# The contract every part of Meters speaks: civil dates, time zones, the day file (reader,
# writer, schema), a config's public form and hash, and the versions. `meter/`, `pico/` and
# `tempest/` stand on it; it imports none of them (an import-linter contract in CI holds that).
#
# This file and civil.py, tz.py and dayfile_writer.py also run on MicroPython (the Pico W
# copies them): integers only, no f-strings, no dataclasses, no typing.

__version__ = "0.1.0"
# The day file's data model (docs/day-file.md); bump the major on any incompatible change.
DATA_MODEL_VERSION = "2.0.0"

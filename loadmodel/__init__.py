# The load model shared by every meter engine.
#
# Everything in this package also runs on MicroPython (the Pico W copies these files), so it
# uses integers only (identical results on CPython, MicroPython's single-precision floats and
# numpy), no dataclasses, no typing, no f-strings, no `match`, and never relies on dict order.
#
# It stands on `core` (civil dates, time zones, the day-file writer) and on nothing else.

# The load model's version: a change that alters any reading for the same config and seed bumps it.
# 2.0.0: every household is an individual drawn from its seed (loadmodel/individual.py).
MODEL_VERSION = "2.0.0"

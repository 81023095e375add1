# The load model shared by every meter engine.
#
# Everything in this package also runs on MicroPython (the Pico W copies these files), so it
# uses integers only (identical results on CPython, MicroPython's single-precision floats and
# numpy), no dataclasses, no typing, no f-strings, no `match`, and never relies on dict order.

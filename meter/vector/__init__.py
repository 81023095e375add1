"""The vectorised engine: the load model for many days (and meters) at once, with numpy.

It mirrors loadmodel (the per-tick engine) operation for operation in integer arithmetic,
so both produce identical Wh; tests/meter/test_engines_agree.py holds them to it.
"""

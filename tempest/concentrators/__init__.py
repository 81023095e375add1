"""Data concentrators: clients that deliver for many meters at once (docs/concentrator.md).

A concentrator has a key of its own and a set of meters registered behind it; its key is good
only on the concentrator routes (tempest/web/concentrator.py) and only for those meters.
"""

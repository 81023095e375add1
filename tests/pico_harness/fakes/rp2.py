"""Fake `rp2`: the little of it a meter program might touch.

bootsel_button() is 0 unless control.json says {"rp2": {"bootsel": 1}}; country() is the
deprecated spelling of network.country().
"""

import _harness as _h


def bootsel_button():
    return _h.knob("rp2", "bootsel", 0)


def country(code=None):
    import network

    return network.country(code)

"""Meters: a simulated smart electricity meter (CPython side). The contract it shares with
the Pico and Tempest is `core`; the load model is `loadmodel`."""

# Optional status LED patterns (the seed blinked its LED too): a 2-second cycle of eight
# 250 ms slices, driven from the main loop's idle slices, so a glance tells the state.
#
#   one blink      all well
#   two blinks     no Wi-Fi
#   three blinks   no valid time yet (NTP)
#   long flash     the last step failed (see crash.log / the heartbeat's last_error)
#   steady on      deploy hold: the program is not running (docs/pico.md)

OK = 0b10000000
NO_WIFI = 0b10100000
NO_TIME = 0b10101000
ERROR = 0b11110000
HOLD = 0b11111111


class Led:
    def __init__(self):
        self.pin = None
        self.slot = 0
        try:
            from machine import Pin

            self.pin = Pin("LED", Pin.OUT)
        except (ImportError, ValueError, TypeError):
            self.pin = None  # a board without the named LED: patterns are optional

    def pattern(self, app):
        """The pattern for the App's state (here, not in the App: a meter without the LED
        holds no heap for it)."""
        if app.failing:
            return ERROR
        if app.wifi is not None and not app.wifi.up:
            return NO_WIFI
        if not app.clock.valid():
            return NO_TIME
        return OK

    def show(self, pattern):
        """Advance one 250 ms slice of the cycle."""
        if self.pin is None:
            return
        self.slot = (self.slot + 1) & 7
        self.pin.value((pattern >> (7 - self.slot)) & 1)

    def set(self, on):
        if self.pin is not None:
            self.pin.value(1 if on else 0)

# The sensor meter's hardware (docs/pico.md, "The sensor meter"): a DHT11 on a GPIO pin
# (MicroPython's built-in `dht` driver) and the RP2040's own temperature sensor on ADC 4,
# behind the Ticker's sensors interface: read(end, now) -> one value per measurement channel
# (loadmodel/sensors.py), in units of the channel's decimals, None where the sensor failed.
#
# A sensor reads the present: an interval recorded late (a catch-up after a power cut or
# before NTP) gets no reading rather than today's value stamped on yesterday.
# Loaded only by a meter whose config has sensors.

from loadmodel.sensors import onboard_c10


class Dht11:
    """The DHT11: whole degrees C and whole %RH per measure(). A failed read (no answer,
    bad checksum: OSError from the driver) gives None, never a crash of the tick."""

    def __init__(self, pin):
        import dht
        from machine import Pin

        self.sensor = dht.DHT11(Pin(pin))

    def read(self):
        try:
            self.sensor.measure()
            return self.sensor.temperature(), self.sensor.humidity()
        except OSError:
            return None


class Onboard:
    """The RP2040's temperature in tenths of a degree: 27 - (V - 0.706) / 0.001721."""

    def __init__(self):
        from machine import ADC

        self.adc = ADC(4)

    def read(self):
        return onboard_c10(self.adc.read_u16())


class Sensors:
    def __init__(self, cfg):
        self.channels = cfg["sensors"]
        self.n = cfg["interval"]
        self.dht = None
        self.onboard = None
        for ch in self.channels:
            if ch[3] == "dht11" and self.dht is None:
                self.dht = Dht11(cfg.get("sensor_pin", 0))
            elif ch[3] == "onboard":
                self.onboard = Onboard()

    def read(self, end, now):
        if now - end >= self.n:
            return None
        pair = self.dht.read() if self.dht is not None else None
        out = []
        for ch in self.channels:
            if ch[3] == "onboard":
                out.append(self.onboard.read())
            elif pair is None:
                out.append(None)
            else:
                out.append(pair[0] if ch[0] == "temperature" else pair[1])
        return out

# Run by tests/mqtt/test_pico_mqtt.py in the unix port of MicroPython: the Pico W publisher
# (pico/picometer/mqtt.py) sends a heartbeat and a day file, then says goodbye ("bye") or
# stays connected, pinging, until it is killed ("stay").
import sys
import time

from picometer.mqtt import Publisher

host, port, path, day, mode = sys.argv[1:6]
p = Publisher(host, int(port), "meters", "pico-9", keepalive=5, timeout_s=5)
p.connect()
p.publish("heartbeat", '{"serial":"pico-9","kind":"pico"}', qos=1, retain=True)
p.publish_file(day, path)
print("published")
while mode == "stay":
    time.sleep(1)
    p.ping()
p.disconnect()

# The Pico W meter program (docs/pico.md); main.py runs picometer.app.run().

# A Pico meter's display (docs/pico.md, "Displays"): panel.py rotates the screens
# (screens.py) on a panel's driver (sh1107.py: the 1.3" OLED, st7789.py: the 1.14" LCD) and
# keeps the charts' history (history.py). Copied to the board only when a display is chosen.

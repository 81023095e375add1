"""Fixtures shared across test folders.

The lab fleet's fixtures (`lab`, `lab_cron`, `lab_inventory`; docs/lab.md) for tests outside
tests/lab/, e.g. the Ansible tests in tests/ansible/. `tests` is a package, so the plugin is
imported by its full name.
"""

pytest_plugins = ["tests.lab.fixtures"]

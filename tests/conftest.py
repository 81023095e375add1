"""Fixtures shared across test folders.

The lab fleet's fixtures (`lab`, `lab_cron`, `lab_inventory`; docs/lab.md) for tests outside
tests/lab/, e.g. the Ansible tests in tests/ansible/; Tempest's (`app`, `client`, `conn`,
`runner`, `make_tempest`; docs/testing.md) for every suite. `tests` is a package, so the
plugins are imported by their full names.
"""

pytest_plugins = ["tests.lab.fixtures", "tests.support.fixtures"]

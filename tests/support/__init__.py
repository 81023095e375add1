"""Test support: the one home of process and lab plumbing for tests and bench.

Every suite (and bench/) starts real processes through this package rather than a copy of its
own: a Tempest server, an sshd, nginx; and waits for them with one `wait_for`. Every process it
starts is stopped by its PID, never by name. docs/testing.md describes the API.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

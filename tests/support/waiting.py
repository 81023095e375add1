"""The one poll-until-true of the tests and the lab: `wait_for`.

Real servers come up, ingest and deliver in their own time; a test waits for what it needs to
see, with a deadline and a message that says what never happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The condition was not met by the deadline. An AssertionError, so pytest reports a
    failed expectation (not an error in the test), and code outside tests can catch it."""


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.05,
             what: str = "a condition", ignore: tuple[type[BaseException], ...] = ()) -> T:
    """Call `predicate` until it returns something truthy and return that value.

    `ignore`: exception types that mean "not yet" (say, requests.RequestException while a
    server starts); any other exception propagates at once. After `timeout` seconds raise
    WaitTimeout naming `what` and the last value (or exception) seen.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            last = predicate()
            if last:
                return last
        except ignore as exc:
            last = exc
        if time.monotonic() > deadline:
            raise WaitTimeout(f"gave up after {timeout:g} s waiting for {what} "
                              f"(last: {_short(last)})")
        time.sleep(interval)


def _short(value: object, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."

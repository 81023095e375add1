"""What the browser tests do with a page: sign in as the admin, take a screenshot for docs/."""

from __future__ import annotations

from tests.support import REPO
from tests.support.tempest_client import ADMIN_TOKEN

SCREENSHOTS = REPO / "docs" / "screenshots"


def sign_in(page, base: str, token: str = ADMIN_TOKEN) -> None:
    page.goto(base + "/ui/login")
    page.fill("input[name=token]", token)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/ui/meters")


def shot(page, name: str, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

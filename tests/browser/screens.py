"""Helpers of the screen tests: screenshots for review, the axe-core accessibility check, and
signing in / activating the instance / buying GitLab Duo Pro by the labels a user reads.

Screenshots go to ``$PROVLAB_SCREENSHOTS`` or ``var/screenshots/`` (git-ignored); the path is
printed. axe-core (MPL-2.0, vendored in ``vendor/axe.min.js`` with its LICENSE) is injected into
each page: nothing is fetched at run time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WIDE, NARROW = 1280, 390
# Serious and critical axe findings fail a test; moderate and minor ones are reported only.
FAILING_IMPACTS = {"serious", "critical"}


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("PROVLAB_SCREENSHOTS", "var/screenshots")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shoot(page: Any, name: str) -> list[Path]:
    """The page at 1280 and 390 pixels wide, full length; returns the files written."""
    written = []
    for width in (WIDE, NARROW):
        page.set_viewport_size({"width": width, "height": 900})
        path = screenshot_dir() / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        written.append(path)
    page.set_viewport_size({"width": WIDE, "height": 900})
    print(f"screenshots: {written[0]} {written[1]}")
    return written


def overflows(page: Any) -> list[str]:
    """What sticks out to the right when the page scrolls sideways (content wider than the
    window; a scrolling table's own cells excepted); empty when it does not."""
    return list(
        page.evaluate("""() => {
      if (document.documentElement.scrollWidth <= window.innerWidth + 1) return [];
      const out = [];
      for (const el of document.querySelectorAll("body *")) {
        if (el.closest(".table-wrap") && !el.classList.contains("table-wrap")) continue;
        const r = el.getBoundingClientRect();
        if (r.right > window.innerWidth + 1 && r.width > 0) {
          out.push(el.tagName.toLowerCase() + "." + [...el.classList].join(".") + " " + Math.round(r.right));
        }
      }
      return out.slice(0, 8);
    }""")
    )


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in FAILING_IMPACTS
    ]


def click_to_page(page: Any, target: Any) -> None:
    """Click ``target`` and wait for the page it leads to: ``wait_for_load_state()`` alone can
    return for the page being left, and what follows would then read (or axe) the old page."""
    with page.expect_navigation():
        target.click()


def sign_in(page: Any, url: str, login: str, password: str) -> None:
    page.goto(f"{url}/users/sign_in")
    page.get_by_label("Username or email").fill(login)
    page.get_by_label("Password").fill(password)
    click_to_page(page, page.get_by_role("button", name="Sign in"))


def activate_by_labels(page: Any, code: str) -> None:
    """The instance's *Subscription* page, already open: activate with ``code``."""
    page.get_by_label("Activation code").fill(code)
    page.get_by_label("I agree that my use of the GitLab Software").check()
    page.get_by_role("button", name="Activate").click()
    page.get_by_text("Your subscription was successfully activated.").wait_for()


def subscription_card(page: Any, name: str) -> Any:
    """The Customers Portal's card of subscription ``name``."""
    return page.get_by_test_id("subscription-card").filter(has=page.get_by_text(name, exact=True))


def buy_duo_pro_on_the_card(page: Any, name: str, seats: int, payment_method: str) -> None:
    """Seed 000 "Purchase GitLab Duo seats", steps 2 to 7, on the Customers Portal's card of
    subscription ``name``; returns when the portal says the purchase is complete."""
    # 2. On the subscription card, select the vertical ellipsis.
    card = subscription_card(page, name)
    card.get_by_role("button", name=f"Actions for {name}").click()
    # 3. Select Buy GitLab Duo Pro.
    card.get_by_role("link", name="Buy GitLab Duo Pro").click()
    # 4. Enter the number of seats for GitLab Duo.
    page.get_by_label("Number of seats").fill(str(seats))
    page.get_by_role("button", name="Continue").click()
    # 5. Review the Purchase summary section.
    summary = page.get_by_role("region", name="Purchase summary")
    assert "GitLab Duo Pro" in summary.inner_text() and str(seats) in summary.inner_text()
    # 6. From the Payment method dropdown list, select your payment method.
    page.get_by_label("Payment method").select_option(label=payment_method)
    # 7. Select Purchase seats.
    page.get_by_role("button", name="Purchase seats").click()
    page.get_by_text(f"purchase of {seats} seats is complete").wait_for()

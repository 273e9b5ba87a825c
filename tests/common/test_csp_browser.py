"""The pages people use still work under the Content-Security-Policy, in a real browser
(Playwright driving Debian's chromium): the admin, the API docs (Swagger UI, whose inline
bootstrap carries the nonce) and the board. Any violation the browser reports fails."""

from __future__ import annotations

import os

import pytest

from tests.factories import DEFAULT_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def test_admin_docs_and_board_run_without_a_csp_violation(live_server, world_a):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_init_script(RECORD_VIOLATIONS)
            page = context.new_page()
            console = []
            page.on("console", lambda message: console.append(message.text))
            page.goto(f"{live_server.url}/admin/login/?next=/admin/")
            page.fill("#id_username", world_a.staff.username)
            page.fill("#id_password", DEFAULT_PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"{live_server.url}/admin/")
            assert page.evaluate("window.__cspViolations") == []
            page.goto(f"{live_server.url}/admin/notifications/channel/")
            page.wait_for_selector("#toggle-nav-sidebar")  # the admin's own scripts and styles loaded
            assert page.evaluate("window.__cspViolations") == []

            page.goto(f"{live_server.url}/api/docs/")
            page.wait_for_selector(".opblock-tag", timeout=15000)  # Swagger UI ran and read the schema
            assert page.locator(".opblock").count() > 10
            assert page.evaluate("window.__cspViolations") == []

            page.goto(f"{live_server.url}/board/")
            page.wait_for_selector("#board")
            page.wait_for_function("document.getElementById('summary').textContent.length > 0", timeout=5000)
            assert page.evaluate("window.__cspViolations") == []
            assert not [line for line in console if "Content Security Policy" in line], console
        finally:
            browser.close()

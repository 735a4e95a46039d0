"""The console says which rule sets run: a warning on every page while only the built-in pack
is active, gone once SigmaHQ's set is installed, which the Rules page then lists."""

from __future__ import annotations

from pathlib import Path

from api.apienv import Env
from aurora.detection.update import install_rules

RULE = (
    "title: Test installed rule\nid: 5a0c1d2e-0000-4000-8000-00000000b001\nstatus: test\n"
    "level: low\nlogsource: {product: linux, category: process_creation}\n"
    "detection:\n  sel: {Image|endswith: '/zz-test'}\n  condition: sel\n"
)


def test_warning_until_sigmahq_is_installed(env: Env, tmp_path: Path) -> None:
    browser, _ = env.browser("viewer")
    for page in ("/alerts", "/hosts", "/rules", "/incidents"):
        assert 'id="builtin-only"' in browser.get(page).text, page
    checkout = tmp_path / "checkout"
    (checkout / "rules" / "linux").mkdir(parents=True)
    (checkout / "rules" / "linux" / "zz.yml").write_text(RULE)
    (checkout / "version.txt").write_text("r2026-11-01\n")
    install_rules(str(checkout), env.state_dir / "sigma")
    env.app.state.aurora.engine = None  # the console loads the rules again, as after a reload
    rules = browser.get("/rules").text
    assert 'id="builtin-only"' not in rules
    row = '<tr data-set="SigmaHQ"><td>SigmaHQ</td><td class="count">1</td><td>r2026-11-01</td>'
    assert row in rules
    assert 'id="builtin-only"' not in browser.get("/alerts").text

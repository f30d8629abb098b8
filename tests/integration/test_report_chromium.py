"""Open the example report in real headless Chromium: every figure decodes, no console message, a real screenshot."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from distillscope.report import ReportFiles, build_report
from report_example import write_example_run

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--hide-scrollbars",
    "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
)  # fmt: skip

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is absent: install it with `apt-get install -y chromium`"
)


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with a fresh profile; network features are off and the page is a local file."""
    cmd = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> ReportFiles:
    run = write_example_run(tmp_path_factory.mktemp("chromium") / "run")
    return build_report(run)


def test_every_figure_renders_without_console_errors(report: ReportFiles, tmp_path: Path) -> None:
    n_images = len(re.findall(r"<img\b", report.html.read_text(encoding="utf-8")))
    assert n_images == 11
    done = _chromium(["--dump-dom", report.html.as_uri()], tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    check = re.search(r'<div id="render-check"[^>]*>([^<]*)</div>', done.stdout)
    assert check is not None, "render-check element missing from the dumped DOM"
    assert check.group(1) == f"render-check: ok {n_images}"
    assert _console_lines(done.stderr) == []


def test_broken_image_is_detected(report: ReportFiles, tmp_path: Path) -> None:
    """The in-page check itself works: a corrupted figure is reported and logged to the console."""
    page = report.html.read_text(encoding="utf-8")
    broken = tmp_path / "broken.html"
    broken.write_text(page.replace("data:image/png;base64,iVBOR", "data:image/png;base64,AAAA", 1), encoding="utf-8")
    done = _chromium(["--dump-dom", broken.as_uri()], tmp_path / "profile")
    assert "render-check: broken" in done.stdout
    assert any("report figures failed to render" in line for line in _console_lines(done.stderr))


def test_screenshot_shows_a_rendered_page(report: ReportFiles, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "report.png"
    done = _chromium(["--window-size=1280,4000", f"--screenshot={shot}", report.html.as_uri()], tmp_path / "profile")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (1280, 4000)
        small = image.convert("RGB").resize((64, 200))
        colours = {small.getpixel((x, y)) for x in range(64) for y in range(200)}
    assert len(colours) > 200, "screenshot is nearly uniform: the page did not render"

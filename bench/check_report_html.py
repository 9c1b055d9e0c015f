"""Look at a report's HTML page as a reader would: render it in headless Chromium to PNG.

    subsidybench report runs/a.json --out reports/
    python bench/check_report_html.py reports/report.html --png reports/report.png

Needs Debian's chromium (apt-get install chromium); not part of the tests. Checks first that the
page loads nothing from elsewhere, then takes a screenshot of the whole page height given and,
for viewers that show tall images small, cuts it into pages of 1600 px (report-1.png, ...).
Prints how long the browser took.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from subsidybench.report.render_html import external_references

PAGE_PX = 1600


def screenshot(html: Path, png: Path, width: int, height: int) -> float:
    """Render `html` at width x height CSS pixels into `png`; returns the seconds it took."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("chromium not found: apt-get install chromium")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",  # root in a container has no user namespace for the sandbox
                "--disable-gpu",
                "--hide-scrollbars",
                # Offline: a page that tried to fetch anything would show it broken.
                "--proxy-server=127.0.0.1:9",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={png}",
                html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return time.perf_counter() - start


def cut(png: Path) -> list[Path]:
    """Pages of PAGE_PX rows, dropping the blank tail below the content."""
    from PIL import Image, ImageChops

    image = Image.open(png).convert("RGB")
    background = Image.new("RGB", image.size, (255, 255, 255))
    box = ImageChops.difference(image, background).getbbox()
    bottom = min(image.height, (box[3] if box else image.height) + 20)
    pages = []
    for i, top in enumerate(range(0, bottom, PAGE_PX), start=1):
        page = png.with_name(f"{png.stem}-{i}.png")
        image.crop((0, top, image.width, min(bottom, top + PAGE_PX))).save(page)
        pages.append(page)
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("--png", type=Path, default=None)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=9000)
    args = parser.parse_args()
    page = args.html.read_text(encoding="utf-8")
    found = external_references(page)
    if found:
        sys.exit(f"{args.html} loads from elsewhere: {', '.join(found[:5])}")
    png = args.png or args.html.with_suffix(".png")
    seconds = screenshot(args.html, png, args.width, args.height)
    pages = cut(png)
    print(f"{args.html}: {len(page) / 1024:.0f} KiB, no external references")
    print(f"chromium rendered it in {seconds:.1f} s: {png} ({len(pages)} pages of {PAGE_PX} px)")
    for p in pages:
        print(f"  {p}")


if __name__ == "__main__":
    main()

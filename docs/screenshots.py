"""Retake docs/report-1280.png and docs/report-390.png: a run report as a browser shows it
on a wide screen (1280 CSS px) and on a phone (390 px), whole pages.

    python docs/screenshots.py                 # trains a fresh run (1 epoch), then shoots
    python docs/screenshots.py --run runs/X    # the report of an existing run folder

Needs MNIST (the clone's data/mnist/, or CORNU_DATA), Pillow and a headless Chromium
(Debian: apt-get install chromium). The run is trained with the same seed each time;
the report is rebuilt with `cornu report` so that the pictures show the code as it is.
The PNGs are reduced to 256 colours to stay a few hundred KB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
WIDTHS = (1280, 390)
TALLEST = 12_000  # px: the window height; the blank part below the page is cut off


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("screenshots.py: no Chromium found; install it (Debian: apt-get install "
             "chromium) or put it on PATH")


def _cornu(*argv: str, cwd: Path) -> None:
    command = [sys.executable, "-m", "cornu.cli", *argv]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"screenshots.py: {' '.join(command[2:])} failed:\n{done.stderr.strip()}")


def _shoot(browser: str, page: Path, width: int, target: Path) -> None:
    from PIL import Image, ImageChops

    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "page.png"
        command = [browser, "--headless", "--disable-gpu", "--hide-scrollbars",
                   "--force-device-scale-factor=1", f"--window-size={width},{TALLEST}",
                   f"--screenshot={raw}", page.resolve().as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.insert(1, "--no-sandbox")  # Chromium refuses root without it
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        with Image.open(raw) as shot:
            picture = shot.convert("RGB")
    blank = Image.new("RGB", picture.size, "white")
    box = ImageChops.difference(picture, blank).getbbox()
    bottom = min(picture.height, (box[3] if box else picture.height) + 24)
    picture = picture.crop((0, 0, width, bottom))
    picture.quantize(256, dither=Image.Dither.NONE).save(target, optimize=True)
    print(f"{target.relative_to(DOCS.parent)}: {width}x{bottom} px, "
          f"{target.stat().st_size / 1024:,.0f} KB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="an existing run folder (default: train one)")
    parser.add_argument("--epochs", type=int, default=1, help="for the fresh run (default: 1)")
    args = parser.parse_args()
    browser = _chromium()
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        run = base / "runs" / "example"  # the page shows it as runs/example
        if args.run is None:
            _cornu("mnist", "--epochs", str(args.epochs), "--seed", "0", "--out", str(run),
                   cwd=base)
        else:
            shutil.copytree(args.run, run)
        _cornu("report", str(run.relative_to(base)), cwd=base)
        for width in WIDTHS:
            _shoot(browser, run / "report.html", width, DOCS / f"report-{width}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

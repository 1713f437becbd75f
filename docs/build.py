"""Build the documentation site in strict mode: ``python docs/build.py``.

Runs ``python -m mkdocs build --strict -f docs/mkdocs.yml`` (any warning fails the
build: a broken link, an unresolved API entry, a docstring griffe cannot parse).
The site goes to ``build/docs-site/`` (open ``index.html``); ``--site-dir`` puts it
elsewhere. Needs the ``docs`` extra: ``python -m pip install ".[docs]"``.
No network access is needed, at build time or to read the site.

The pages' ``>>>`` examples are not run here but by ``tests/test_docs.py``
(part of the test suite), which also checks that every public name is documented.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
DEFAULT_SITE = DOCS.parent / "build" / "docs-site"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site-dir", type=Path, default=DEFAULT_SITE,
                        help=f"where to write the site (default {DEFAULT_SITE})")
    args = parser.parse_args(argv)
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean",
               "-f", str(DOCS / "mkdocs.yml"), "--site-dir", str(args.site_dir.resolve())]
    started = time.perf_counter()
    status = subprocess.run(command, cwd=DOCS.parent).returncode
    elapsed = time.perf_counter() - started
    if status == 0:
        print(f"docs: built {args.site_dir.resolve() / 'index.html'} in {elapsed:.1f} s")
    else:
        print(f"docs: the strict build failed (exit code {status})", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())

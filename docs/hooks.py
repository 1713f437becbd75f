"""MkDocs hooks: the generated pages of the symnet site.

* ``api.md`` is written from ``symnet.__all__`` (:mod:`gen_api`) at every build;
  after rendering, every public name must have its anchor on the page, or the
  build fails.
* ``performance.md``'s marker ``<!-- benchmark-table -->`` is replaced by the
  tables of the committed benchmark record (``docs/benchmarks/bench_core.txt``,
  written by ``python docs/refresh_benchmarks.py``), with its machine and date.
* ``css/pygments.css`` is written from Pygments, so code is highlighted without
  fetching anything at build or view time.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

DOCS = Path(__file__).resolve().parent
if str(DOCS) not in sys.path:
    sys.path.insert(0, str(DOCS))

import gen_api  # noqa: E402
import bench_record  # noqa: E402

BENCHMARK_MARKER = "<!-- benchmark-table -->"


def on_files(files, config):
    from pygments.formatters import HtmlFormatter

    files.append(File.generated(config, "api.md", content=gen_api.api_page()))
    css = HtmlFormatter(style="default").get_style_defs(".highlight")
    files.append(File.generated(config, "css/pygments.css", content=css))
    return files


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri == "performance.md":
        if BENCHMARK_MARKER not in markdown:
            raise PluginError(f"performance.md lost its marker {BENCHMARK_MARKER}")
        try:
            table = bench_record.markdown()
        except (OSError, ValueError) as error:
            raise PluginError(f"performance page: {error}") from error
        return markdown.replace(BENCHMARK_MARKER, table)
    return markdown


def on_post_page(output, page, config):
    if page.file.src_uri == "api.md":
        missing = [name for name in gen_api.public_names()
                   if f'id="{gen_api.target(name)}"' not in output]
        if missing:
            raise PluginError("the API reference has no rendered entry for "
                              + ", ".join(f"symnet.{n}" for n in missing))
    return output

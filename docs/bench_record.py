"""The committed benchmark record behind the docs' Performance page.

The page shows a full run of ``benchmarks/bench_core.py --markdown``, committed
with the machine and date it ran on, instead of a run at every docs build: a full
run takes minutes (the docs build must take seconds), a ``--quick`` run covers
only the two smallest networks, and timings taken on a CI machine busy with the
test suite would change at every build. The date on the page says how old the
numbers are; refresh them with

    python docs/bench_record.py --refresh

which runs the full benchmark and rewrites ``docs/benchmarks/bench_core.txt``.
``hooks.py`` turns the record into Markdown with :func:`markdown`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
RECORD = DOCS / "benchmarks" / "bench_core.txt"
COMMAND = ["benchmarks/bench_core.py", "--markdown"]
HEADER_PREFIX = "# "


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory():
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return f"{pages * size / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        return "unknown memory"


def _commit():
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, capture_output=True, text=True, check=True).stdout
        return head + (" plus uncommitted changes" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def refresh():
    """Run the full benchmark and rewrite the record; returns the benchmark's exit code."""
    started = dt.datetime.now(dt.timezone.utc)
    run = subprocess.run([sys.executable, *COMMAND], cwd=REPO, capture_output=True, text=True)
    header = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": (f"{platform.system()} {platform.machine()}, {_cpu_model()}, "
                    f"{os.cpu_count()} cpus, {_memory()}"),
        "commit": _commit(),
        "command": "python " + " ".join(COMMAND),
        "exit code": str(run.returncode),
    }
    lines = [f"{HEADER_PREFIX}{key}: {value}" for key, value in header.items()]
    RECORD.parent.mkdir(parents=True, exist_ok=True)
    RECORD.write_text("\n".join(lines) + "\n" + run.stdout)
    sys.stdout.write(run.stdout + run.stderr)
    return run.returncode


def read(path=RECORD):
    """(header dict, output lines) of the record; a clear error when it is malformed."""
    text = Path(path).read_text()
    header, body = {}, []
    for line in text.splitlines():
        if not body and line.startswith(HEADER_PREFIX) and ": " in line:
            key, value = line[len(HEADER_PREFIX):].split(": ", 1)
            header[key] = value
        else:
            body.append(line)
    missing = {"date", "machine", "commit", "command"} - set(header)
    if missing:
        raise ValueError(f"{path}: the record has no {', '.join(sorted(missing))} header; "
                         "rewrite it with python docs/bench_record.py --refresh")
    return header, body


def tables(body):
    """The Markdown tables of the benchmark output (runs of lines starting with '|')."""
    found, current = [], []
    for line in body + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found


# Lines of the benchmark's output worth showing above the tables.
FACT_PREFIXES = ("python ", "tanh hidden", "load average", "symnet.MLP(", "plain sympy",
                 "symnet.param_jacobian", "compile =", "check =", "FAILED CASES", "WARNING")


def _code_spans(text):
    """Plain output as Markdown: backticks around it so ^, * and _ stay literal."""
    return "`" + text.replace("`", "'") + "`"


def markdown(path=RECORD):
    """The record as Markdown: when and where it ran, the tables, the full output."""
    header, body = read(path)
    found = tables(body)
    if not found:
        raise ValueError(f"{path}: no Markdown table in the benchmark output; was it run "
                         "with --markdown?")
    parts = [
        f"Measured on **{header['date']}** on {header['machine']}, "
        f"commit {header['commit']}, with `{header['command']}`"
        + (f" (exit code {header['exit code']})." if header.get("exit code") not in (None, "0")
           else "."),
        "",
    ]
    facts = [line.strip() for line in body if line.strip().startswith(FACT_PREFIXES)]
    if facts:
        parts += ["Conditions and remarks of the run, as it printed them:", ""]
        parts += [f"* {_code_spans(fact)}" for fact in facts] + [""]
    titles = ["Times per derivation", "Targets"]
    for index, table in enumerate(found):
        title = titles[index] if index < len(titles) else f"Table {index + 1}"
        parts += [f"### {title}", "", *table, ""]
    parts += ["### The run's full output", "", "```text", *body, "```", ""]
    return "\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refresh", action="store_true",
                        help="run the full benchmark and rewrite the record")
    args = parser.parse_args(argv)
    if args.refresh:
        return refresh()
    sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())

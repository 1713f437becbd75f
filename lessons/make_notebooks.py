"""Make Jupyter notebooks (.ipynb) from the lessons, which are kept as text.

The lessons are jupytext percent-format ``.py`` files so that a change reads as a
plain diff and no output is ever stored. Learners open notebooks; this script
writes them (without outputs) for JupyterLab:

    python lessons/make_notebooks.py              # -> lessons/notebooks/*.ipynb
    python lessons/make_notebooks.py --out DIR    # somewhere else
    jupyter lab lessons/notebooks

The notebooks are build products: do not commit them (edit the ``.py`` files).
"""

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def lesson_files(folder=HERE):
    """The lessons in order: ``NN_name.py`` files (this script excluded)."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.py"))


def make_notebook(source, out_dir):
    """Write ``out_dir/<name>.ipynb`` from one lesson and return its path."""
    import jupytext

    notebook = jupytext.read(source)
    # The .py header pairs the lesson with itself ("formats: py:percent"); carried into the
    # .ipynb it makes jupytext's JupyterLab extension refuse to open the notebook.
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / (Path(source).stem + ".ipynb")
    jupytext.write(notebook, target)
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "notebooks"),
                        help="folder for the .ipynb files (default: lessons/notebooks)")
    parser.add_argument("lessons", nargs="*", help="lesson files (default: all)")
    args = parser.parse_args(argv)
    sources = [Path(p) for p in args.lessons] or lesson_files()
    for source in sources:
        print(make_notebook(source, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

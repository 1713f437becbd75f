"""``python -m symnet``: the same as the ``symnet`` command."""

from .cli import main

raise SystemExit(main())

"""``python -m simulator``: the headless command line (see simulator/cli.py and docs/cli.md)."""

from .cli import main

raise SystemExit(main())

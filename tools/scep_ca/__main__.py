"""Entry point of `python -m tools.scep_ca`."""

from tools.scep_ca.cli import main

raise SystemExit(main())

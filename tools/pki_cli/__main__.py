"""Run pki-cli with ``python -m tools.pki_cli``."""

from tools.pki_cli.main import main

raise SystemExit(main())

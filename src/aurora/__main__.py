"""Allow `python -m aurora`."""

from aurora.cli.main import main

raise SystemExit(main())

"""``python -m reference`` is the ``dsi`` command."""

from reference.cli import main

raise SystemExit(main())

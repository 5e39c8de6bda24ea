"""``python -m paper_repro`` is the ``dsi`` command."""

from paper_repro.console import main

raise SystemExit(main())

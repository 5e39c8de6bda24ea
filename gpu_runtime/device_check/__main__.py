"""``python -m gpu_runtime.device_check`` (see :mod:`gpu_runtime.device_check.cli`)."""

from gpu_runtime.device_check.cli import main

raise SystemExit(main())

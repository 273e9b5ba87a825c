"""Entry point for ``python -m device_agent``."""

from __future__ import annotations

import sys

from device_agent.cli import main

sys.exit(main())

"""Tools beside the device agent, never installed on a device: the fleet simulator and the
invented licences its scanners read.

A device runs only what ``device_agent/pyproject.toml`` installs; these run from the
repository (``make run`` starts the simulated fleet). They build on the agent's real code
and, like it, never import the server (import-linter holds both to that).
"""

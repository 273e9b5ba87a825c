"""Tests of the device agent (run without Django: see README.md in device_agent/)."""

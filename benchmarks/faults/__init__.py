"""Fault campaigns: kill -9 and SIGTERM under load (kill9.py, sigterm.py) and the soak
(soak.py). See docs/operations.md."""

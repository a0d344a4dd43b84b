"""The exit codes of every `tiers` command and job entry point (also listed in the README)."""

EXIT_OK = 0
EXIT_FAILED = 1  # the job failed: its run is marked failed, nothing registered
EXIT_USAGE = 2  # bad configuration or input, or a missing committed input
EXIT_CATALOG = 3  # catalog error: a write through `catalog sql`, a locked root, a catalog held by another process

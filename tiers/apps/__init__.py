"""Applications of the catalog for the end user, above the tiers they read: training allocation and
export (`allocation/`), and the report (`report/`). Nothing below this package imports it."""

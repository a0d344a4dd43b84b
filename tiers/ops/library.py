"""Imports every built-in operator module so that each registers itself by name."""

from tiers.ops import boilerplate, c4, fineweb, gopher, langid, length, normalize, pii  # noqa: F401

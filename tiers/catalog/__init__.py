from tiers.catalog.catalog import Catalog, CatalogError, OutputRecord

__all__ = ["Catalog", "CatalogError", "OutputRecord"]

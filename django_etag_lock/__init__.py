"""Stop lost updates in Django: compare-and-set versioned models, ETags and If-Match."""

# Import-safe on purpose: nothing here touches models or settings.
__version__ = "0.1.0"

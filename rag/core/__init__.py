"""The bottom layer: types, settings, errors, caches, locks and progress; imports nothing of ``rag``."""

"""Where the package's own files and the outside collection are: one place, so modules can move."""

from __future__ import annotations

from pathlib import Path

#: the ``rag`` package folder
PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: genre knowledge and model checks shipped as data files (read-only)
DATA_DIR = PACKAGE_DIR / "data"
#: the outside data beside a clone (``../shared`` of the repository root); may be absent
SHARED_DIR = PACKAGE_DIR.parent.parent / "shared"
#: the real report collection under it
GOV_REPORTS_DIR = SHARED_DIR / "corpora" / "gov-reports"

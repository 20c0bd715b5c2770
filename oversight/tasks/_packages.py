"""Find data files that PyPI packages ship, without importing those packages (their imports are heavy)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataPackage:
    """An installed distribution that ships data: its import name's directory and its version."""

    dist: str
    root: Path
    version: str


class DataUnavailableError(RuntimeError):
    """A dataset's files are not installed and it cannot be fetched online here."""


def find_data_package(import_name: str, dist: str) -> DataPackage | None:
    """The installed package `import_name` (distribution `dist`), located without importing it; None if absent."""
    try:
        spec = importlib.util.find_spec(import_name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return DataPackage(dist=dist, root=root, version=version)

"""Export packages: a session or a clip with everything needed to verify it offline."""

from evidence_store.export.docs import ASSETS
from evidence_store.export.package import ExportedPackage, ExportSpec, build_package, export_bytes

__all__ = ["ASSETS", "ExportSpec", "ExportedPackage", "build_package", "export_bytes"]

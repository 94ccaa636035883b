"""floe-ingestion-csv: an example third-party floe plugin loading CSV and JSON-lines files."""

from floe_ingestion_csv.plugin import CsvIngestionPlugin, CsvPipeline

__all__ = ["CsvIngestionPlugin", "CsvPipeline"]

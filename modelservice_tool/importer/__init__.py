"""Converting values files of the llm-d modelservice chart (v0.2 to v0.4) into this chart's
values, with a report of every key mapped, defaulted, not needed or needing attention."""

from .convert import Conversion, check_schema, convert_file, convert_source, validation_problems
from .output import document, report_data, report_text
from .report import Entry, Report, Status

__all__ = [
           "Conversion",
           "Entry",
           "Report",
           "Status",
           "check_schema",
           "convert_file",
           "convert_source",
           "document",
           "report_data",
           "report_text",
           "validation_problems",
]

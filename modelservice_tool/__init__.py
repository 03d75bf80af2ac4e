"""ModelService toolkit: layered presets, validation and helm workflow for the chart."""

__version__ = "0.1.0"

"""`mst bench`: a guidellm Job against a release, its result JSON, and the report."""

"""`mst sweep`: search deployment parameters, benchmark each valid variant, keep the best."""

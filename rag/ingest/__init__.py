"""Reading reports: loaders per format, the section tree and catalogue entry of each report, and units."""

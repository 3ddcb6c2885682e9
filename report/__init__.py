"""The daily report: one self-contained HTML page per factory-day, and one for the cluster."""

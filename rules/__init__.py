"""Rules engine: KPIs per window with data coverage, the capacity feed, alerts."""

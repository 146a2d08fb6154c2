"""The KPI API: summaries, time series and the per-case export, computed from the rollups."""

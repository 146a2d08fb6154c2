"""Rollups: every KPI's additive parts per brand × channel × department × member × intent and
minute, hour and day bucket, kept up to date by the fact consumers and rebuilt from facts."""

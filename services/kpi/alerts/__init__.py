"""Alerts: crisis per brand (negative spikes, crisis intents, a negative author with large
reach) and SLA-breach bursts per department, raised and resolved on event time."""

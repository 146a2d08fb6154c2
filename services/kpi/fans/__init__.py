"""Fans: one profile per author per brand across channels, influence, advocates, detractors."""

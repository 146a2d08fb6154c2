"""Goals: a target on a KPI per brand (optionally one department), per week or month, with
attainment, a projection for the period and goal alerts when it turns at risk or missed."""

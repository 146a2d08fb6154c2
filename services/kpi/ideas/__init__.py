"""Ideas: posts whose intent is feedback_idea, kept with their text and grouped into themes."""

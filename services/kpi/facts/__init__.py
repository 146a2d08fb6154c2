"""Facts: one row per interaction, case, reply, guideline check and engagement record, folded
idempotently from the public topics; rollups are a function of them (see rollups/)."""

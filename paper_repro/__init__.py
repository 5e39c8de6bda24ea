"""paper_repro: see the README tour."""

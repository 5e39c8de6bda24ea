"""proofs: see the README tour."""

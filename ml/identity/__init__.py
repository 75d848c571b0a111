"""Who is in a recording (face), how they sound (voice), and whether it is a live person (liveness)."""

"""The attack suite: every check is written from the attacker's side (SPEC §5)."""

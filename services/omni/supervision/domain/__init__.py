"""Supervision's rules, in plain Python: which facts raise which alert, who sees what, the floor."""

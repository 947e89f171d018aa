"""The contact-center simulator: scenarios, traffic, the fast (SimPy) and live modes, KPIs and reports."""

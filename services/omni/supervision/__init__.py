"""The supervision service: alerts for supervisors and the live floor (docs/supervisor.md)."""

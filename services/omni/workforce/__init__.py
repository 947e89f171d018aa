"""Workforce mathematics shared by routing (wait estimates), the operator (staffing) and the simulator."""

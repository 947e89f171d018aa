"""The self-service bot worker an AgentPool scales: takes bot work from routing, answers from the
knowledge base, hands the customer to a human queue when it cannot help."""

"""The runtime every service, the operator and the bot worker share."""

"""What callers and events can do in the supervision service; the only users of its repository and publisher."""

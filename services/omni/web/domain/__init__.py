"""The gateway's own rules, free of transport: who may use the desk, CSRF and origin checks,
and the shape and size of everything a browser may send."""

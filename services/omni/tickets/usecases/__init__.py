"""The tickets service's use cases, one module per concept: the desk (tickets people work on),
the customer directory, ingestion (interactions threaded onto tickets), the live watch and the
SLA loop. The only callers of the repository and the publisher, and where the access rule of
`domain.access` is applied.
"""

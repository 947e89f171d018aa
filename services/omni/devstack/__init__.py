"""Dev tooling for one machine, kept out of what the service images run: the launcher of the
real servers we develop and test against (`processes`), the local stack behind `omni run` /
`make run` (`stack`), its supervision (`supervisor`) and the demo data it loads (`demo`).

No service package imports from here; the CLI, the simulator and the tests do.
"""

from omni.runtime.server import run_service
from omni.tickets.service import SPEC

run_service(SPEC)

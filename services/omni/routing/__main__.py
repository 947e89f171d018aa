from omni.routing.service import SPEC
from omni.runtime.server import run_service

run_service(SPEC)

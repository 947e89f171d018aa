"""The routing service."""
from omni.routing.service import SPEC
from omni.routing.settings import RoutingSettings
from omni.runtime.server import run_service

run_service(SPEC, RoutingSettings)

"""The supervision service."""
from omni.runtime.server import run_service
from omni.supervision.service import SPEC
from omni.supervision.settings import SupervisionSettings

run_service(SPEC, SupervisionSettings)

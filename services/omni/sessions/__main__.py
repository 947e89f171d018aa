"""The sessions service: `python -m omni.sessions`."""
from omni.runtime.server import run_service
from omni.sessions.service import SPEC
from omni.sessions.settings import SessionSettings

run_service(SPEC, SessionSettings)

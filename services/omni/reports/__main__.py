"""The reports service."""
from omni.reports.service import SPEC
from omni.reports.settings import ReportSettings
from omni.runtime.server import run_service

run_service(SPEC, ReportSettings)

"""The knowledge service."""
from omni.knowledge.service import SPEC
from omni.knowledge.settings import KnowledgeSettings
from omni.runtime.server import run_service

run_service(SPEC, KnowledgeSettings)

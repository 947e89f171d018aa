"""The docs stay true to the code: every setting any process reads is documented."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from agentpool_operator.settings import OperatorSettings
from omni.issuer.settings import IssuerSettings
from omni.knowledge.settings import KnowledgeSettings
from omni.reports.settings import ReportSettings
from omni.routing.settings import RoutingSettings
from omni.runtime.config import ServiceSettings, env_name
from omni.sessions.settings import SessionSettings
from omni.tickets.settings import TicketSettings
from omni.web.settings import WebSettings
from omni.worker.settings import WorkerSettings

DOCS = "\n".join(p.read_text() for p in (Path(__file__).resolve().parents[1] / "docs").glob("*.md"))


@pytest.mark.parametrize("settings", [ServiceSettings, TicketSettings, SessionSettings, RoutingSettings,
                                      KnowledgeSettings, WorkerSettings, OperatorSettings, WebSettings,
                                      IssuerSettings, ReportSettings],
                         ids=lambda cls: cls.__name__)
def test_every_setting_is_documented(settings: type[ServiceSettings]) -> None:
    # Docs name a variable in full, or without the OMNI_ prefix, or by field name in a table of one service.
    def documented(field: str) -> bool:
        name = env_name(field)
        return any(form in DOCS for form in (name, f"`{name.removeprefix('OMNI_')}`", f"`{field}`"))

    assert [env_name(f.name) for f in dataclasses.fields(settings) if not documented(f.name)] == []

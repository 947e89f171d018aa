"""Settings of the web gateway (OMNI_* environment variables)."""

from __future__ import annotations

import dataclasses

from omni.runtime.config import ConfigError, ServiceSettings, env_name


@dataclasses.dataclass(frozen=True, kw_only=True)
class WebSettings(ServiceSettings):
    # host:port of the gateway's HTTP server (desktop, widget, their WebSockets).
    web_listen: str = "127.0.0.1:8080"
    # scheme://host[:port] browsers use to reach the gateway. Sign-in, every state-changing desk
    # call and the desk's WebSockets must come from it; empty: the request's own Host (one
    # gateway behind no proxy, as in the dev stack).
    web_public_origin: str = ""
    # Websites (exact origins) that may embed the chat widget; the gateway's own demo page always may.
    web_site_origins: tuple[str, ...] = ()
    # Mark the desk cookie Secure: on wherever the gateway is reached over HTTPS (the cluster).
    web_cookie_secure: bool = True
    # The sessions service's WebSocket chat endpoint the widget's chat is relayed to.
    web_chat_url: str = "ws://127.0.0.1:8765/chat"
    # Serve /demo/, a sample company website with the widget on it.
    web_demo_site: bool = True
    # Largest JSON body of a desk call, and largest WebSocket message either UI may send.
    web_max_body_bytes: int = 64 * 1024
    web_max_frame_bytes: int = 16 * 1024
    # Deadline of each unary call the gateway relays to a service.
    web_rpc_timeout: float = 10.0
    tickets_addr: str = "127.0.0.1:50051"
    sessions_addr: str = "127.0.0.1:50052"
    knowledge_addr: str = "127.0.0.1:50053"
    routing_addr: str = "127.0.0.1:50054"
    reports_addr: str = "127.0.0.1:50055"

    def __post_init__(self) -> None:
        for field in ("web_max_body_bytes", "web_max_frame_bytes"):
            if getattr(self, field) < 1024:
                raise ConfigError(f"{env_name(field)}={getattr(self, field)} must be at least 1024")
        if self.web_public_origin.endswith("/"):
            raise ConfigError(f"{env_name('web_public_origin')} is an origin, without a path or trailing '/'")

"""Issue 13, item 4: no shared master key. Services check tokens with public keys only, each
accepts only tokens naming it, the `bot` role does bot work and nothing else, the operator and the
bot workers hold no private key, and the platform's own tokens are renewed before they expire."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from agentpool_operator import pool, worker_deployment
from agentpool_operator.settings import OperatorSettings
from omni.devstack.local_issuer import LocalIssuer
from omni.devstack.processes import free_port
from omni.issuer.domain.clients import PLATFORM_CLIENTS
from omni.knowledge.service import SPEC as KNOWLEDGE
from omni.routing.service import SPEC as ROUTING
from omni.runtime.auth import Role, audience, bearer
from omni.runtime.config import ServiceSettings
from omni.runtime.errors import Unauthenticated, Unavailable
from omni.runtime.events import EventBus
from omni.runtime.token_issuer import IssuedToken, SigningKey, TokenIssuer, jwks
from omni.runtime.token_source import ClientCredentials, RefreshingToken
from omni.runtime.token_verifier import CHAT_ISSUER, KeySet, TokenVerifier, Trust, verifier_for
from omni.sessions.service import SPEC as SESSIONS
from omni.tickets.service import SPEC as TICKETS
from omnichannel.knowledge.v1 import knowledge_pb2 as kpb
from omnichannel.knowledge.v1 import knowledge_pb2_grpc
from omnichannel.routing.v1 import routing_pb2 as rpb
from omnichannel.routing.v1 import routing_pb2_grpc
from omnichannel.routing.v1.events_pb2 import WorkEvent
from omnichannel.sessions.v1 import sessions_pb2 as spb
from omnichannel.sessions.v1 import sessions_pb2_grpc
from omnichannel.tickets.v1 import tickets_pb2 as tpb
from omnichannel.tickets.v1 import tickets_pb2_grpc
from tests.charts.conftest import by_kind, objects
from tests.conftest import StartService
from tests.security.test_chart_network import WORKER, component, reaches
from tests.support.polling import eventually
from tests.support.settings import session_settings, settings_for

Metadata = tuple[tuple[str, str], ...]
TICKETS_ONLY = [audience("tickets")]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """An HS256 JWT by hand (PyJWT will not use a JWK as an HMAC secret; an attacker's code would)."""
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT', 'kid': kid}).encode())}." \
                    f"{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def _signed(claims: dict[str, Any], key: SigningKey, *, kid: str) -> str:
    """`claims` signed with `key` but naming key id `kid`."""
    return jwt.encode(claims, serialization.load_pem_private_key(key.pem(), None), algorithm="EdDSA",
                      headers={"kid": kid})


async def refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


# ----- signatures, algorithms, issuers, audiences -------------------------------------------------


async def test_only_tokens_signed_by_a_published_key_of_the_trusted_issuer_are_accepted(
        start_service: StartService, authority: LocalIssuer) -> None:
    host = await start_service(TICKETS)
    async with grpc.aio.insecure_channel(host.address) as chan:
        tickets = tickets_pb2_grpc.TicketServiceStub(chan)

        def listing(token: str) -> Any:
            return tickets.ListCustomers(tpb.ListCustomersRequest(), metadata=bearer(token))

        genuine = authority.mint("S-1", Role.SUPERVISOR, audiences=TICKETS_ONLY)
        await listing(genuine)  # the control: the same claims signed with the issuer's key pass

        stranger = TokenIssuer(authority.issuer.name, [SigningKey.generate()])
        other_key = stranger.mint("S-1", Role.SUPERVISOR, audiences=TICKETS_ONLY, ttl_seconds=600)
        # Another key claiming the issuer's key id: the signature does not verify.
        claims = jwt.decode(genuine, options={"verify_signature": False})
        impostor = _signed(claims, SigningKey.generate(), kid=authority.issuer.keys[0].kid)
        other_issuer = TokenIssuer("https://idp.evil.example", authority.issuer.keys).mint(
            "S-1", Role.SUPERVISOR, audiences=TICKETS_ONLY, ttl_seconds=600)
        for token, why in ((other_key, "does not publish"), (impostor, "invalid token"),
                           (other_issuer, "not accepted here")):
            error = await refused(listing(token))
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED, why
            assert why in (error.details() or "")


async def test_an_hs256_token_made_with_the_old_shared_secret_or_the_public_key_is_refused(
        start_service: StartService, authority: LocalIssuer) -> None:
    host = await start_service(TICKETS)
    claims = jwt.decode(authority.mint("A-1", Role.ADMIN, audiences=TICKETS_ONLY),
                        options={"verify_signature": False})
    kid = authority.issuer.keys[0].kid
    public_jwk = json.dumps(authority.issuer.keys[0].public_jwk()).encode()
    forged = {
        # What every pod held before: one HS256 secret that minted any role.
        "old shared secret": jwt.encode(claims, "test-secret-for-the-suite-only-0123456789", algorithm="HS256"),
        # Algorithm confusion: the published public key used as the HMAC secret.
        "public key as secret": _hs256(claims, public_jwk, kid),
        "unsigned": jwt.encode(claims, None, algorithm="none", headers={"kid": kid}),
    }
    async with grpc.aio.insecure_channel(host.address) as chan:
        tickets = tickets_pb2_grpc.TicketServiceStub(chan)
        for what, token in forged.items():
            error = await refused(tickets.ListCustomers(tpb.ListCustomersRequest(), metadata=bearer(token)))
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED, what
            assert "only public-key signatures" in (error.details() or ""), what


async def test_a_token_for_tickets_does_not_work_on_routing(start_service: StartService, settings: ServiceSettings,
                                                            authority: LocalIssuer) -> None:
    tickets = await start_service(TICKETS, settings_override=settings_for(settings, ServiceSettings, database="t"))
    routing = await start_service(ROUTING, settings_override=settings_for(settings, ServiceSettings, database="r"))
    for_tickets = bearer(authority.mint("S-1", Role.SUPERVISOR, audiences=TICKETS_ONLY))
    async with grpc.aio.insecure_channel(tickets.address) as t, grpc.aio.insecure_channel(routing.address) as r:
        await tickets_pb2_grpc.TicketServiceStub(t).ListCustomers(tpb.ListCustomersRequest(), metadata=for_tickets)
        error = await refused(routing_pb2_grpc.RoutingServiceStub(r).ListQueues(rpb.ListQueuesRequest(),
                                                                                 metadata=for_tickets))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "not for omnichannel.routing" in (error.details() or "")


async def test_sessions_chat_key_makes_customer_tokens_of_one_session_and_nothing_else(
        start_service: StartService, authority: LocalIssuer) -> None:
    host = await start_service(ROUTING)
    chat_issuer = TokenIssuer(CHAT_ISSUER, [SigningKey.from_file(authority.chat_key_file)])
    everything = [audience("routing")]
    staff = chat_issuer.mint("mallory", Role.ADMIN, audiences=everything, ttl_seconds=600)
    as_the_issuer = TokenIssuer(authority.issuer.name, chat_issuer.keys).mint("mallory", Role.ADMIN,
                                                                             audiences=everything, ttl_seconds=600)
    visitor = chat_issuer.mint("web-1", Role.CUSTOMER, audiences=everything, session_id="S-1", ttl_seconds=600)
    async with grpc.aio.insecure_channel(host.address) as chan:
        routing = routing_pb2_grpc.RoutingServiceStub(chan)
        for token, why in ((staff, "may not issue admin tokens"), (as_the_issuer, "does not publish")):
            error = await refused(routing.ListQueues(rpb.ListQueuesRequest(), metadata=bearer(token)))
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            assert why in (error.details() or "")
        # The visitor's own token passes authentication: routing then holds it to its session's work.
        error = await refused(routing.GetWorkItem(rpb.GetWorkItemRequest(id="S-1"), metadata=bearer(visitor)))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED


# ----- the bot role -------------------------------------------------------------------------------


def _bot(authority: LocalIssuer) -> Metadata:
    return bearer(authority.mint("bot-worker", Role.BOT, audiences=PLATFORM_CLIENTS["bot-worker"][1],
                                 ttl_seconds=600))


async def test_a_bot_cannot_call_an_agent_or_supervisor_rpc(start_service: StartService, settings: ServiceSettings,
                                                            authority: LocalIssuer) -> None:
    hosts = {name: await start_service(spec, settings_override=settings_for(settings, ServiceSettings, database=name))
             for name, spec in (("tickets", TICKETS), ("routing", ROUTING), ("knowledge", KNOWLEDGE),
                                ("sessions", SESSIONS))}
    bot = _bot(authority)
    # A bot token does not even name tickets; with it, tickets is out of reach however it is minted.
    bot_at_tickets = bearer(authority.mint("bot-worker", Role.BOT, audiences=TICKETS_ONLY))
    channels = {name: grpc.aio.insecure_channel(host.address) for name, host in hosts.items()}
    routing = routing_pb2_grpc.RoutingServiceStub(channels["routing"])
    sessions = sessions_pb2_grpc.SessionServiceStub(channels["sessions"])
    knowledge = knowledge_pb2_grpc.KnowledgeServiceStub(channels["knowledge"])
    tickets = tickets_pb2_grpc.TicketServiceStub(channels["tickets"])
    try:
        for call in (
            routing.CreateQueue(rpb.CreateQueueRequest(queue=rpb.Queue(id="q")), metadata=bot),
            routing.SetAgentState(rpb.SetAgentStateRequest(agent_id="A-1"), metadata=bot),
            routing.ListWorkItems(rpb.ListWorkItemsRequest(), metadata=bot),
            routing.TransferWork(rpb.TransferWorkRequest(work_id="S-1", target_queue_id="q"), metadata=bot),
            routing.WatchPosition(rpb.WatchPositionRequest(work_id="S-1"), metadata=bot).read(),
            sessions.ListSessions(spb.ListSessionsRequest(), metadata=bot),
            sessions.UpdateSessionState(spb.UpdateSessionStateRequest(session_id="S-1"), metadata=bot),
            sessions.AddSessionNote(spb.AddSessionNoteRequest(session_id="S-1", text="x"), metadata=bot),
            knowledge.ListArticles(kpb.ListArticlesRequest(), metadata=bot),
            knowledge.CreateArticle(kpb.CreateArticleRequest(), metadata=bot),
            knowledge.RecordFeedback(kpb.RecordFeedbackRequest(article_id="a"), metadata=bot),
            tickets.GetCustomer(tpb.GetCustomerRequest(id="C-1"), metadata=bot_at_tickets),
        ):
            assert (await refused(call)).code() == grpc.StatusCode.PERMISSION_DENIED
        assert (await refused(tickets.ListTickets(tpb.ListTicketsRequest(), metadata=bot))).code() == \
            grpc.StatusCode.UNAUTHENTICATED
        # What a bot is for: searching public articles (internal ones are refused), and bot work.
        internal = await refused(knowledge.SearchArticles(kpb.SearchArticlesRequest(
            query="refund", filter=kpb.SearchFilter(audience=kpb.AUDIENCE_INTERNAL)), metadata=bot))
        assert internal.code() == grpc.StatusCode.PERMISSION_DENIED
        await knowledge.SearchArticles(kpb.SearchArticlesRequest(query="refund"), metadata=bot)
        await routing.TakeBotWork(rpb.TakeBotWorkRequest(worker_id="bot-worker/0"), metadata=bot)
    finally:
        for chan in channels.values():
            await chan.close()


async def test_a_bot_replies_only_on_sessions_with_the_bots(start_service: StartService, settings: ServiceSettings,
                                                            authority: LocalIssuer) -> None:
    listen = f"127.0.0.1:{free_port()}"
    host = await start_service(SESSIONS, settings_override=session_settings(settings, authority,
                                                                            websocket_listen=listen))
    bot, admin = _bot(authority), bearer(authority.mint("admin", Role.ADMIN))
    bus = await EventBus.connect(settings.nats_url, "test")
    sessions_of: dict[str, str] = {}
    async with grpc.aio.insecure_channel(host.address) as chan, websockets.connect(f"ws://{listen}/chat") as a, \
            websockets.connect(f"ws://{listen}/chat") as b:
        sessions = sessions_pb2_grpc.SessionServiceStub(chan)
        for name, ws in (("overflowed", a), ("waiting", b)):
            await ws.send(json.dumps({"start": {"handle": f"web-{name}"}}))
            sessions_of[name] = json.loads(await ws.recv())["started"]["session_id"]
            await ws.send(json.dumps({"text": {"text": "How do I get a refund?", "client_message_id": "c1"}}))
            await eventually(lambda n=name: sessions.GetSession(spb.GetSessionRequest(id=sessions_of[n]),  # type: ignore[misc]
                                                                metadata=admin),
                             lambda s: s.state == spb.SESSION_STATE_QUEUED, what=f"the {name} chat queued")

        def reply(name: str) -> Any:
            return sessions.SendReply(spb.SendReplyRequest(session_id=sessions_of[name], text="Try Orders › Refund.",
                                                           request_id=f"bot:{name}"), metadata=bot)

        async def answer(name: str) -> grpc.StatusCode:
            try:
                await reply(name)
            except grpc.aio.AioRpcError as error:
                return error.code()
            return grpc.StatusCode.OK

        for name in sessions_of:
            error = await refused(reply(name))
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "not with the self-service bots" in (error.details() or "")

        overflowed = sessions_of["overflowed"]
        work = rpb.WorkItem(id=overflowed, session_id=overflowed, queue_id="chat")
        await bus.publish("routing", "work_overflowed", f"work/{overflowed}", WorkEvent(work=work),
                          event_id=f"{overflowed}:overflowed")
        sent = await eventually(lambda: reply("overflowed"), what="sessions letting the bot answer the overflowed chat",
                                ignoring=(grpc.aio.AioRpcError,))
        assert sent.message.sender == "bot-worker"
        # Still none of the others: the waiting chat is for people.
        assert (await refused(reply("waiting"))).code() == grpc.StatusCode.PERMISSION_DENIED
        seen = await sessions.GetSession(spb.GetSessionRequest(id=overflowed), metadata=bot)
        assert not seen.notes and not seen.claimed_identities

        # The bot hands the customer to a person: from then on it is not the bot's to answer.
        await bus.publish("routing", "work_transferred", f"work/{overflowed}",
                          WorkEvent(work=work, agent_id="bot-worker/0", reason="asked for a person"),
                          event_id=f"{overflowed}:handoff")
        await eventually(lambda: answer("overflowed"), lambda code: code == grpc.StatusCode.PERMISSION_DENIED,
                         what="the bot refused once it handed the chat to a person")
    await bus.close()


# ----- who holds a private key in the chart -------------------------------------------------------

PRIVATE_KEY_SECRETS = ("omni-omnichannel-issuer", "omni-omnichannel-chat-token-key")


def _secret_refs(pod: dict[str, Any]) -> set[tuple[str, str]]:
    """(Secret, key) of every Secret a pod's containers and volumes reach."""
    found = set()
    for container in pod["containers"]:
        for entry in container.get("env", []):
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                found.add((ref["name"], ref["key"]))
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                found.add((source["secretRef"]["name"], "*"))
    for volume in pod.get("volumes", []):
        if "secret" in volume:
            found.add((volume["secret"]["secretName"], "*"))
    return found


def test_the_operator_and_the_workers_get_no_private_key_from_the_chart() -> None:
    rendered = objects()
    deployments = by_kind(rendered, "Deployment")
    secrets = by_kind(rendered, "Secret")
    config = by_kind(rendered, "ConfigMap")["omni-omnichannel-config"]["data"]
    assert not [v for v in config.values() if "PRIVATE KEY" in v]

    operator_pod = deployments["omni-omnichannel-operator"]["spec"]["template"]["spec"]
    assert _secret_refs(operator_pod) == {("omni-omnichannel-token-clients", "operator")}
    env = {e["name"]: e.get("value", "") for e in operator_pod["containers"][0]["env"]}
    assert not [v for v in env.values() if "PRIVATE KEY" in v]

    # The workers' Deployment as the operator, configured by the chart, writes it.
    settings = OperatorSettings(worker_secret=env["OMNI_WORKER_SECRET"], worker_client_id=env["OMNI_WORKER_CLIENT_ID"],
                                worker_config_map=env["OMNI_WORKER_CONFIG_MAP"])
    agent_pool = pool.parse("billing-bots", "contact", {"queues": ["billing"], "maxReplicas": 2},
                            default_image=settings.worker_image)
    worker_pod = worker_deployment.pod_template(agent_pool, settings)["spec"]
    assert _secret_refs(worker_pod) == {("omni-omnichannel-token-clients", "worker")}
    assert worker_pod["containers"][0]["envFrom"] == [{"configMapRef": {"name": "omni-omnichannel-config"}}]
    client_secrets = secrets["omni-omnichannel-token-clients"]["data"]
    assert not [k for k, v in client_secrets.items() if b"PRIVATE KEY" in base64.b64decode(v)]

    # The private keys: the issuer's in the issuer pod alone, sessions' chat key in sessions alone.
    for name, workload in deployments.items():
        reached = {secret for secret, _ in _secret_refs(workload["spec"]["template"]["spec"])}
        expected = {"omni-omnichannel-issuer": "omni-omnichannel-issuer",
                    "omni-omnichannel-sessions": "omni-omnichannel-chat-token-key"}.get(name)
        assert reached & set(PRIVATE_KEY_SECRETS) == ({expected} if expected else set()), name


def test_the_charts_issuer_grants_the_platforms_clients_what_the_dev_stack_does() -> None:
    secret = by_kind(objects(), "Secret")["omni-omnichannel-issuer"]["data"]
    clients = json.loads(base64.b64decode(secret["clients.json"]))["clients"]
    assert {cid: (Role(c["role"]), frozenset(c["audiences"])) for cid, c in clients.items()} == PLATFORM_CLIENTS
    generated = by_kind(objects(), "Secret")["omni-omnichannel-token-clients"]["data"]
    assert all(len(base64.b64decode(v)) >= 32 for v in generated.values())


@pytest.mark.parametrize(("source", "target", "port", "expected"), [
    *[(component(s), component("issuer"), 8090, True) for s in ("sessions", "tickets", "knowledge", "routing")],
    (component("operator"), component("issuer"), 8090, True),
    (WORKER, component("issuer"), 8090, True),
    ({"app": "some-other-app"}, component("issuer"), 8090, False),
    (None, component("issuer"), 8090, False),
    (component("issuer"), component("nats"), 4222, False),
    (component("issuer"), None, 443, False),
    # Routing and knowledge read the chat tokens' keys on sessions' WebSocket port.
    (component("routing"), component("sessions"), 8765, True),
    (component("knowledge"), component("sessions"), 8765, True),
    (component("tickets"), component("sessions"), 8765, False),
])
def test_who_reaches_the_issuer(source: dict[str, str] | None, target: dict[str, str] | None, port: int,
                                expected: bool) -> None:
    policies = list(by_kind(objects(), "NetworkPolicy").values())
    assert reaches(policies, source, target, port) is expected


# ----- service tokens: short-lived, renewed before expiry ----------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_a_service_token_is_replaced_before_it_expires(authority: LocalIssuer, token_endpoint: str) -> None:
    clock = Clock()
    fetched: list[IssuedToken] = []
    grant = ClientCredentials(token_endpoint, "routing", authority.client_secret("routing"), audience("tickets"),
                              clock=clock)

    async def fetch() -> IssuedToken:
        fetched.append(await grant())
        return fetched[-1]

    source = RefreshingToken(fetch, what="tickets", clock=clock)
    first = await source()
    lifetime = fetched[0].expires_at - clock.now
    assert 60 <= lifetime <= 600
    verifier = TokenVerifier(audience("tickets"), [Trust(authority.issuer.name, KeySet.of(authority.issuer.jwks(),
                                                                                           "the suite's"), Role)])
    principal = await verifier.verify(first)
    assert (principal.subject, principal.role) == ("routing", Role.SERVICE)

    clock.now += lifetime / 2
    assert await source() == first and len(fetched) == 1
    clock.now = fetched[0].expires_at - lifetime / 4 + 1  # three quarters of its life gone, not expired
    renewed = await source()
    assert len(fetched) == 2 and renewed != first
    assert clock.now < fetched[0].expires_at
    assert await source() == renewed


async def test_a_token_endpoint_that_fails_keeps_the_current_token_until_it_expires() -> None:
    clock = Clock()
    answers: list[IssuedToken | Unavailable] = [IssuedToken("t1", clock.now + 100), Unavailable("endpoint down"),
                                                 Unavailable("endpoint down")]

    async def fetch() -> IssuedToken:
        answer = answers.pop(0)
        if isinstance(answer, Unavailable):
            raise answer
        return answer

    source = RefreshingToken(fetch, what="routing", margin_seconds=30, retry_seconds=5, clock=clock)
    assert await source() == "t1"
    clock.now += 71  # renewal due; the endpoint fails: the valid token serves
    assert await source() == "t1"
    clock.now += 2  # within the retry pause: not asked again
    assert await source() == "t1" and len(answers) == 1
    clock.now += 30  # expired and the endpoint still down: the call fails rather than send a dead token
    with pytest.raises(Unavailable, match="no token for routing"):
        await source()


# ----- the issuer's endpoint and key sets ---------------------------------------------------------


def _token_request(url: str, client_id: str, secret: str, audience_name: str) -> tuple[int, dict[str, Any]]:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    body = urllib.parse.urlencode({"grant_type": "client_credentials", "audience": audience_name}).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Authorization": f"Basic {basic}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_the_issuer_grants_each_client_its_own_role_and_audiences_only(authority: LocalIssuer,
                                                                        token_endpoint: str) -> None:
    status, answer = _token_request(token_endpoint, "bot-worker", authority.client_secret("bot-worker"),
                                    audience("sessions"))
    assert status == 200 and answer["token_type"] == "Bearer" and answer["expires_in"] <= 600
    claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["role"], claims["aud"]) == ("bot-worker", "bot", [audience("sessions")])
    assert _token_request(token_endpoint, "bot-worker", authority.client_secret("bot-worker"),
                          audience("tickets")) == (400, {"error": "invalid_target", "error_description": (
                              "client bot-worker may not get tokens for 'omnichannel.tickets'; its audiences: "
                              "omnichannel.knowledge, omnichannel.routing, omnichannel.sessions")})
    for client_id, secret in (("bot-worker", authority.client_secret("routing")), ("nobody", "x" * 40)):
        status, answer = _token_request(token_endpoint, client_id, secret, audience("sessions"))
        assert (status, answer["error"]) == (401, "invalid_client")
    keys = json.loads(urllib.request.urlopen(token_endpoint.replace("/token", "/.well-known/jwks.json"),
                                             timeout=5).read())
    assert keys == authority.issuer.jwks()
    assert not [k for k in keys["keys"] if "d" in k]  # public halves only


async def test_a_rotated_key_is_read_when_a_token_names_it_and_made_up_key_ids_cost_one_read_a_while(
        tmp_path: Path) -> None:
    clock = Clock()
    old, new = SigningKey.generate(), SigningKey.generate()
    published = tmp_path / "jwks.json"
    published.write_text(json.dumps(jwks([old])))
    reads = 0

    async def read() -> bytes:
        nonlocal reads
        reads += 1
        return published.read_bytes()

    keys = KeySet(str(published), read, min_refresh_seconds=30, clock=clock)
    verifier = TokenVerifier(audience("tickets"), [Trust("omnichannel", keys, Role)])

    def token(key: SigningKey, kid: str = "") -> str:
        minted = TokenIssuer("omnichannel", [key]).mint("A-1", Role.AGENT, audiences=TICKETS_ONLY, ttl_seconds=600)
        return _signed(jwt.decode(minted, options={"verify_signature": False}), key, kid=kid or key.kid)

    assert (await verifier.verify(token(old))).subject == "A-1"
    assert reads == 1
    published.write_text(json.dumps(jwks([new, old])))  # the issuer rotates
    clock.now += 31
    assert (await verifier.verify(token(new))).subject == "A-1" and reads == 2
    for made_up in ("k1", "k2", "k3"):
        with pytest.raises(Unauthenticated, match="does not publish"):
            await verifier.verify(token(new, made_up))
    assert reads == 2  # within 30 s of the last read: no read for made-up key ids
    clock.now += 31
    with pytest.raises(Unauthenticated, match="does not publish"):
        await verifier.verify(token(new, "k4"))
    assert reads == 3


async def test_a_companys_identity_provider_plugs_in_with_its_own_claims(tmp_path: Path) -> None:
    """An RS256 provider that lists roles in a nested claim and groups under another name."""
    idp_key = SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    published = tmp_path / "idp-jwks.json"
    published.write_text(json.dumps(jwks([idp_key])))
    settings = ServiceSettings(token_issuer="https://idp.example/realms/contact", token_jwks=str(published),
                               token_role_claim="realm_access.roles", token_groups_claim="teams")
    verifier = verifier_for(settings, audience("tickets"))
    now = int(time.time())
    claims: dict[str, Any] = {"iss": settings.token_issuer, "sub": "li.wei", "aud": [audience("tickets"), "account"],
                              "iat": now, "exp": now + 300, "teams": ["billing"],
                              "realm_access": {"roles": ["offline_access", "agent", "supervisor"]}}
    principal = await verifier.verify(idp_key.sign(claims))
    assert (principal.subject, principal.role, principal.groups) == ("li.wei", Role.SUPERVISOR, ("billing",))
    for broken, why in (({"realm_access": {"roles": ["offline_access"]}}, "names no omnichannel role"),
                        ({"teams": "billing"}, "must be a list"), ({"aud": "account"}, "not for omnichannel.tickets"),
                        ({"exp": now - 300}, "expired")):
        with pytest.raises(Unauthenticated, match=why):
            await verifier.verify(idp_key.sign({**claims, **broken}))

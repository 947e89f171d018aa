# syntax=docker/dockerfile:1
# One image for every omnichannel process; the command picks which:
#   python -m omni.tickets | omni.sessions | omni.knowledge | omni.routing
#   python -m omni.worker              (AgentPool bot worker)
#   python -m agentpool_operator       (the Kopf operator)

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/omni
# Dependencies first, against empty packages, so code changes do not reinstall them.
COPY pyproject.toml README.md LICENSE ./
COPY services/omni/__init__.py services/omni/__init__.py
COPY operator/agentpool_operator/__init__.py operator/agentpool_operator/__init__.py
RUN /opt/omni/bin/pip install --upgrade pip && /opt/omni/bin/pip install .
COPY services services
COPY operator operator
RUN /opt/omni/bin/pip install --no-deps --force-reinstall . \
 && /opt/omni/bin/python -c "import omni.worker.bot, omnichannel.routing.v1.routing_pb2, agentpool_operator.handlers.handle_scale_pool"

FROM python:3.11-slim
LABEL org.opencontainers.image.source="https://github.com/omnichannel/omnichannel" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 omni \
 && useradd --system --uid 10001 --gid omni --no-create-home --shell /usr/sbin/nologin omni
COPY --from=build /opt/omni /opt/omni
ENV PATH=/opt/omni/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    OMNI_LOG_FORMAT=json OMNI_GRPC_LISTEN=0.0.0.0:50051
USER 10001:10001
EXPOSE 50051
CMD ["python", "-c", "print('choose a command: python -m omni.<tickets|sessions|knowledge|routing|worker> or python -m agentpool_operator')"]

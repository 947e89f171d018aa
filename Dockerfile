# syntax=docker/dockerfile:1
# Two images, each with only the dependencies its processes import (pyproject.toml):
#
#   docker build --target service -t omnichannel .              the core dependencies; the default target
#     python -m omni.tickets | omni.sessions | omni.knowledge | omni.routing
#     python -m omni.worker                  (AgentPool bot worker)
#     python -m omni.issuer                  (the token issuer of a dev install)
#   docker build --target operator -t omnichannel-operator .    the core plus the `operator` extra
#     python -m agentpool_operator           (the Kopf operator; its default command)
#
# Neither holds the dev tooling's dependencies (the simulator's, the local stack's, the tests').

FROM python:3.11-slim AS base
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/omni && /opt/omni/bin/pip install --upgrade pip
# Dependencies first, against empty packages, so code changes do not reinstall them.
COPY pyproject.toml README.md LICENSE ./
COPY services/omni/__init__.py services/omni/__init__.py
COPY operator/agentpool_operator/__init__.py operator/agentpool_operator/__init__.py

FROM base AS service-deps
RUN /opt/omni/bin/pip install .

FROM base AS operator-deps
RUN /opt/omni/bin/pip install '.[operator]'

# The code, built once for both images and installed over the dependency stages' empty package
# (same version, hence --force-reinstall).
FROM base AS wheel
COPY services services
COPY operator operator
RUN /opt/omni/bin/pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
LABEL org.opencontainers.image.source="https://github.com/omnichannel/omnichannel" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 omni \
 && useradd --system --uid 10001 --gid omni --no-create-home --shell /usr/sbin/nologin omni
ENV PATH=/opt/omni/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OMNI_LOG_FORMAT=json

FROM runtime AS operator
COPY --from=operator-deps /opt/omni /opt/omni
RUN --mount=type=bind,from=wheel,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-deps --force-reinstall /wheels/*.whl \
 && python -c "import agentpool_operator.main"
USER 10001:10001
# Liveness probe (/healthz).
EXPOSE 8080
CMD ["python", "-m", "agentpool_operator"]

# Last, so that a plain `docker build .` builds it.
FROM runtime AS service
COPY --from=service-deps /opt/omni /opt/omni
RUN --mount=type=bind,from=wheel,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-deps --force-reinstall /wheels/*.whl \
 && python -c "import omni.tickets.service, omni.sessions.service, omni.knowledge.service, omni.routing.service, omni.worker.bot"
ENV OMNI_GRPC_LISTEN=0.0.0.0:50051
USER 10001:10001
EXPOSE 50051
CMD ["python", "-c", "print('choose a command: python -m omni.<tickets|sessions|knowledge|routing|worker>')"]

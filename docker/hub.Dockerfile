# The Yunfab hub image: `yunfab hub serve` (and the hub's console, `yunfab db upgrade hub`, and
# the Flower SuperLink that runs beside it in the same pod).
#
#   docker build -f docker/hub.Dockerfile -t registry.example.cn/yunfab/hub:0.1.0 .
#
# The hub does not train: it installs the `hub` extra (Flower: the `flwr` CLI that starts runs,
# and the SuperLink whose ServerApp aggregates with numpy) and none of the node's libraries
# (OpenCV, torch, OR-Tools, matplotlib); the build checks they are absent.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# The web console (console/): built from its lock file; the service serves it at / from
# YUNFAB_HUB_CONSOLE_DIR.
FROM ${NODE_IMAGE} AS console
WORKDIR /src/console
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY console ./
RUN npm run build

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/yunfab \
    && /opt/yunfab/bin/pip install --upgrade pip
WORKDIR /src
COPY pyproject.toml README.md ./
COPY yunfab ./yunfab
COPY yunfab_cli ./yunfab_cli
COPY yunfab_demo ./yunfab_demo
COPY hub ./hub
COPY regional_node ./regional_node
COPY federated_learning ./federated_learning
COPY vision_ml ./vision_ml
COPY solvers ./solvers
COPY policies ./policies
RUN /opt/yunfab/bin/pip install ".[hub]" \
    && /opt/yunfab/bin/python -c "import importlib.util as u, sys; extra = [m for m in ('cv2', 'torch', 'ortools', 'matplotlib') if u.find_spec(m)]; sys.exit(f'the hub image holds the node extra: {extra}' if extra else 0)" \
    && /opt/yunfab/bin/python -c "import hub.app, federated_learning.server_app" \
    && /opt/yunfab/bin/yunfab --help >/dev/null

FROM ${PYTHON_IMAGE} AS runtime
ARG UID=10001
RUN groupadd --system --gid ${UID} yunfab \
    && useradd --system --uid ${UID} --gid yunfab --home-dir /home/yunfab --create-home \
        --shell /usr/sbin/nologin yunfab \
    && mkdir -p /var/lib/yunfab \
    && chown yunfab:yunfab /var/lib/yunfab
COPY --from=build /opt/yunfab /opt/yunfab
COPY --from=console /src/console/dist /opt/yunfab/console
ENV PATH=/opt/yunfab/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    YUNFAB_HUB_HOST=0.0.0.0 \
    YUNFAB_HUB_PORT=8700 \
    YUNFAB_HUB_DATA_DIR=/var/lib/yunfab \
    YUNFAB_HUB_CONSOLE_DIR=/opt/yunfab/console
WORKDIR /var/lib/yunfab
USER ${UID}:${UID}
EXPOSE 8700
VOLUME ["/var/lib/yunfab"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('YUNFAB_HUB_PORT', '8700'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["yunfab"]
CMD ["hub", "serve"]

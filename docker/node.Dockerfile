# The Yunfab regional node image: `yunfab node serve` (and the node's console, `yunfab db upgrade
# node`, and the Flower SuperNode that runs beside it in the same pod), with the `ml` extra:
# inspection models and federated training on the CPU build of torch.
#
#   docker build -f docker/node.Dockerfile -t registry.example.cn/yunfab/node:0.1.0 .
#
# torch comes first from PyTorch's CPU index, at exactly the version the `ml` extra pins
# (TORCH_VERSION must match pyproject.toml; tests/test_helm.py checks it): installing the extra
# afterwards then finds torch satisfied instead of letting a resolver pull a multi-GB CUDA build.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# The web console (console/): built from its lock file; the service serves it at / from
# YUNFAB_NODE_CONSOLE_DIR.
FROM ${NODE_IMAGE} AS console
WORKDIR /src/console
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY console ./
RUN npm run build

FROM ${PYTHON_IMAGE} AS build
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/yunfab \
    && /opt/yunfab/bin/pip install --upgrade pip \
    && /opt/yunfab/bin/pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"
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
RUN /opt/yunfab/bin/pip install ".[node,ml]" \
    && /opt/yunfab/bin/python -c "import torch, sys; v = torch.__version__; sys.exit(0 if v == '${TORCH_VERSION}+cpu' else f'torch {v} is not the CPU build of ${TORCH_VERSION}')" \
    && /opt/yunfab/bin/python -c "import regional_node.app, federated_learning.client_app" \
    && /opt/yunfab/bin/python -c "from solvers.scheduling.tabu import warm_up; warm_up()" \
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
    YUNFAB_NODE_HOST=0.0.0.0 \
    YUNFAB_NODE_PORT=8701 \
    YUNFAB_NODE_DATA_DIR=/var/lib/yunfab \
    YUNFAB_NODE_CONSOLE_DIR=/opt/yunfab/console
WORKDIR /var/lib/yunfab
USER ${UID}:${UID}
EXPOSE 8701
VOLUME ["/var/lib/yunfab"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('YUNFAB_NODE_PORT', '8701'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["yunfab"]
CMD ["node", "serve"]

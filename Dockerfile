# GPU worker image for srbench: TensorFlow's CUDA image + srbench pinned by constraints.txt.
#
#   docker build -t REGISTRY/srbench-worker:$(git rev-parse --short=12 HEAD) \
#       --build-arg GIT_COMMIT=$(git rev-parse HEAD) .
#
# The tag is the commit, and prefect-docker.yaml runs the image whose tag is the deployment's
# version, so a worker runs exactly the code the deployment was made from (README, "Nightly on GPU
# workers"). TF_VERSION must equal the tensorflow pin in constraints.txt (a test checks it).
ARG TF_VERSION=2.21.0
FROM tensorflow/tensorflow:${TF_VERSION}-gpu

ARG GIT_COMMIT=unknown
LABEL org.opencontainers.image.title="srbench GPU worker" \
      org.opencontainers.image.revision="${GIT_COMMIT}"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_FORCE_GPU_ALLOW_GROWTH=true \
    SRBENCH_PROJECT_DIR=/opt/srbench \
    SRBENCH_DATA_DIR=/srv/srbench/data \
    SRBENCH_REPORTS_DIR=/srv/srbench/reports \
    SRBENCH_GIT_COMMIT=${GIT_COMMIT}

WORKDIR /opt/srbench
# Dependencies first (cached while only the code changes). The base image already holds the pinned
# TensorFlow with CUDA, so the constraint keeps it instead of pulling a second copy.
COPY constraints.txt pyproject.toml README.md ./
RUN mkdir -p sr_core srbench tasks flows && touch sr_core/__init__.py srbench/__init__.py \
        tasks/__init__.py flows/__init__.py \
    && pip install --no-cache-dir -c constraints.txt '.[docker,tensorboard]' \
    && pip uninstall -y srbench
COPY . .
RUN pip install --no-cache-dir --no-deps -c constraints.txt . \
    && srbench --help >/dev/null \
    && mkdir -p /srv/srbench/data /srv/srbench/reports
VOLUME ["/srv/srbench"]

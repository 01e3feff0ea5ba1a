# The code location image: the Workbench, its locked dependencies and the deploy extra (dagster-postgres,
# dagster-aws, dagster-k8s), for `dagster api grpc`, the run pods and the step pods alike.
#
#   CPU:  docker build -t workbench:cpu .
#   CUDA: docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 -t workbench:cuda .
#
# Versions come from uv.lock (`uv export`), so the image runs what `make test` tested. torch is the one
# exception: the lock names the CPU wheel on the build machine's disk, so the image takes the same torch
# version from PyTorch's index for the variant asked for (CPU, or CUDA, whose wheels bundle the CUDA
# runtime: a GPU node needs only the NVIDIA driver and container toolkit). Not built in this project's CI
# (no container runtime there): see deploy/README.md for what is tested where.
FROM python:3.11-slim

ARG UV_VERSION=0.13.9
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
    DAGSTER_HOME=/opt/workbench/deploy WORKBENCH_CONFIG=/opt/workbench/deploy/workbench.s3.yaml

RUN useradd --create-home --uid 1000 workbench
WORKDIR /opt/workbench

# Dependencies first (a layer that changes only with the lock), the project's code after.
COPY pyproject.toml uv.lock README.md ./
RUN pip install "uv==${UV_VERSION}" \
 && uv export --locked --no-hashes --no-emit-project --extra deploy --no-emit-package torch -o /tmp/requirements.txt \
 && torch_version="$(uv export --locked --no-hashes --no-emit-project | sed -n 's/^torch==\([0-9.]*\).*/\1/p')" \
 && pip install --index-url "${TORCH_INDEX}" "torch==${torch_version}" \
 && pip install -r /tmp/requirements.txt \
 && pip uninstall -y uv && rm /tmp/requirements.txt

COPY . .
RUN pip install --no-deps . && chown -R workbench /opt/workbench
USER workbench

EXPOSE 3030
CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "3030", "-m", "workbench_dagster.definitions"]

# syntax=docker/dockerfile:1
# Pixelpress in a container: `docker build -t pixelpress .`
#   docker run -p 8000:8000 pixelpress                  the API (`pixelpress serve`, the default)
#   docker run pixelpress pixelpress worker             a worker (needs PIXELPRESS_QUEUE_URL=amqp://…)
#   docker run -it pixelpress pixelpress users create-admin
# Configured by the PIXELPRESS_* variables of the README; compose.yaml runs the whole stack.

ARG PYTHON_VERSION=3.11

# -- build: the package and its dependencies into a virtual environment ----------------------
FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/pixelpress
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# libvips comes in the pyvips-binary wheel: no compiler and no apt packages are needed.
RUN /opt/pixelpress/bin/pip install .

# -- runtime: the same slim Python, the environment, and an unprivileged user -----------------
FROM python:${PYTHON_VERSION}-slim AS runtime
ENV PATH="/opt/pixelpress/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIXELPRESS_DATA_DIR=/var/lib/pixelpress
RUN groupadd --system --gid 10001 pixelpress \
 && useradd --system --uid 10001 --gid pixelpress --create-home \
      --home-dir /var/lib/pixelpress --shell /usr/sbin/nologin pixelpress
COPY --from=build /opt/pixelpress /opt/pixelpress
USER pixelpress
WORKDIR /var/lib/pixelpress
EXPOSE 8000
# /healthz answers while the process is up; the worker has no HTTP (compose turns this off there).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["pixelpress", "serve", "--host", "0.0.0.0", "--port", "8000"]

# The salon booking backbone: one image, two processes.
#   docker run ... salon-booking               -> `booking api` (HTTP on API_PORT, 8000)
#   docker run ... salon-booking booking worker -> the Temporal worker (metrics on 9464/9465)
# Configuration comes from the environment (see config/settings.py and docker-compose.yml).

FROM python:3.11.14-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# A virtualenv is copied whole into the runtime stage: no compiler or build files there.
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY . .
# Not editable: the packages, the bundled demo catalog and the migrations land in the venv.
RUN pip install .


FROM python:3.11.14-slim-bookworm

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LOG_JSON=true

RUN groupadd --system --gid 10001 booking \
    && useradd --system --uid 10001 --gid booking --home-dir /app --no-create-home booking \
    && install -d -o booking -g booking /app

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
USER booking

EXPOSE 8000 9464 9465
CMD ["booking", "api"]

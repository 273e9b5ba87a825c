#!/bin/sh
# Entrypoint of the Tocsin image: `web`, `stream`, `worker`, `beat`, `watchdog`, `flower`, `migrate`,
# `brokerfiles`, `bridge`, or any command.
set -eu

# The credentials .env.example publishes for development; production refuses them.
FLOWER_EXAMPLE_CREDENTIALS="admin:tocsin-flower"

role="${1:-web}"
case "$role" in
  web)
    python manage.py migrate --noinput
    python manage.py setup_periodic_tasks
    export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/prometheus}"
    rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    exec gunicorn tocsin.wsgi:application --bind 0.0.0.0:8000 --config docker/gunicorn.conf.py \
      --workers "${WEB_CONCURRENCY:-3}" --worker-class sync --access-logfile -
    ;;
  stream)
    # No access log: stream tickets travel in query strings (the app logs its own lines).
    exec uvicorn tocsin.asgi:application --host 0.0.0.0 --port 8001 \
      --no-access-log --timeout-graceful-shutdown 5
    ;;
  worker)
    exec celery -A workers worker -Q "${CELERY_QUEUES:-critical,notify,default,maintenance,retry}" \
      --concurrency "${CELERY_CONCURRENCY:-2}" --loglevel INFO
    ;;
  beat)
    exec celery -A workers beat --loglevel INFO \
      --scheduler workers.heartbeats:HeartbeatScheduler
    ;;
  watchdog)
    # Watches beat, workers and the outbox without Celery; pages the operator tenant.
    exec python manage.py platform_watchdog
    ;;
  flower)
    # Flower shows every task's arguments and can revoke tasks and stop workers: it never
    # starts without credentials, and in production never with the published example.
    case "${FLOWER_BASIC_AUTH:-}" in
      ?*:?*) ;;
      *) echo "entrypoint: refusing to start Flower without FLOWER_BASIC_AUTH=user:password" >&2; exit 64 ;;
    esac
    if [ "${DJANGO_ENV:-development}" = "production" ]; then
      case ",${FLOWER_BASIC_AUTH}," in
        *,"${FLOWER_EXAMPLE_CREDENTIALS}",*)
          echo "entrypoint: refusing to start Flower in production with the example FLOWER_BASIC_AUTH" >&2
          exit 64 ;;
      esac
    fi
    # Loopback by default: in compose Flower shares the proxy's network namespace and is
    # reached only through it (docker/Caddyfile).
    exec celery -A workers flower --port="${FLOWER_PORT:-5555}" --address="${FLOWER_ADDRESS:-127.0.0.1}"
    ;;
  migrate)
    exec python manage.py migrate --noinput
    ;;
  brokerfiles)
    # The Mosquitto service's CA, certificate, CRL and dynamic-security state, into its volume.
    python manage.py migrate --noinput
    exec python manage.py mqtt_broker_config --dir "${MQTT_BROKER_DIR:-/mosquitto/tocsin}" --port 8883 \
      --bind 0.0.0.0 --host mosquitto --host localhost --host "${MQTT_PUBLIC_HOST:-localhost}" \
      --plugin /usr/lib/mosquitto_dynamic_security.so --user mosquitto
    ;;
  bridge)
    exec python manage.py mqtt_bridge --client-id "tocsin-bridge-${HOSTNAME:-1}"
    ;;
  *)
    exec "$@"
    ;;
esac

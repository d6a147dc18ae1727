#!/usr/bin/env bash
# Install the Debian packages this project needs, where they are missing.
#   system-deps.sh         what the test suite needs (Chromium and a font for the browser tests,
#                          mosquitto for the MQTT conformance tests, redis-server and nginx for
#                          the tests of several server processes)
#   system-deps.sh venv    Python's venv module (Debian ships it apart from Python)
#   system-deps.sh rabbitmq  RabbitMQ, for the AMQP conformance tests (make conformance)
#   system-deps.sh cluster   redis-server and nginx, for several processes (make cluster)
set -euo pipefail
need=()
if [ "${1:-}" = "venv" ]; then
  need+=("python3-venv")
elif [ "${1:-}" = "rabbitmq" ]; then
  [ -x /usr/sbin/rabbitmq-server ] || need+=(rabbitmq-server)
elif [ "${1:-}" = "cluster" ]; then
  [ -x /usr/bin/redis-server ] || need+=(redis-server)
  [ -x /usr/sbin/nginx ] || need+=(nginx)
else
  [ -x /usr/bin/chromium ] || need+=(chromium)
  # Text in screenshots needs a font Chromium recognises.
  dpkg -s fonts-liberation >/dev/null 2>&1 || need+=(fonts-liberation)
  # The MQTT conformance tests start a real broker of their own on free ports (never the
  # package's system service on 1883, if one is running).
  [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
  # Several server processes behind nginx, joined by Redis (make cluster, tests/test_cluster.py):
  # the tests start their own redis-server and nginx on free ports, never the system services.
  [ -x /usr/bin/redis-server ] || need+=(redis-server)
  [ -x /usr/sbin/nginx ] || need+=(nginx)
fi
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${need[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
# Installing redis-server or nginx may start its system service (on 6379, on 80): the tests and
# make cluster start programs of their own on free ports, so a service started here is stopped.
for service in redis-server nginx; do
  if [[ " ${need[*]} " == *" $service "* ]] && command -v service >/dev/null; then
    "${sudo_cmd[@]}" service "$service" stop >/dev/null 2>&1 || true
  fi
done

"""Serve Delivery Lab: ``python app.py [--host H] [--port P]``.

The entry point is the only place that monkey-patches the standard library (for eventlet, the
default, or gevent), and it does so before anything else is imported. Settings come from
environment variables (docs/server.md); ``--host`` and ``--port`` override ``HOST`` and ``PORT``.
"""

import os
import warnings

ASYNC_MODE = os.environ.get("ASYNC_MODE", "eventlet")
if ASYNC_MODE == "eventlet":
    warnings.filterwarnings("ignore", message="\nEventlet is deprecated")  # chosen knowingly
    import eventlet

    eventlet.monkey_patch()
elif ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()

import argparse  # noqa: E402
import gc  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402

from server import Settings, SettingsError, create_app  # noqa: E402


def parse_args(argv: list[str], settings: Settings) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Serve Delivery Lab. Other settings are environment variables: "
        "ASYNC_MODE, SECRET_KEY, ALLOWED_ORIGINS, MAX_CONNECTIONS, ... (see docs/server.md).")
    parser.add_argument("--host", default=settings.host,
                        help=f"address to listen on (HOST, default {settings.host})")
    parser.add_argument("--port", type=int, default=settings.port,
                        help=f"port to listen on (PORT, default {settings.port})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    try:
        settings = Settings.from_env()
        args = parse_args(sys.argv[1:] if argv is None else argv, settings)
        settings = Settings.from_env(host=args.host, port=args.port)
        if settings.socketio_message_queue:
            from server.scaleout import check_message_queue

            check_message_queue(settings.socketio_message_queue)
    except SettingsError as exc:
        print(f"app.py: {exc}", file=sys.stderr)
        return 2
    name = f"{settings.instance} " if settings.instance else ""
    logging.basicConfig(level=logging.WARNING,
                        format=f"%(asctime)s {name}%(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    gc.freeze()  # what exists now lives for good: keep it out of every later collection
    socketio = app.extensions["socketio"]
    if settings.socketio_message_queue:
        handing_over_on_stop(socketio, app.extensions["delivery_lab"])
    options = {}
    if settings.async_mode == "eventlet":
        options["max_size"] = settings.max_connections
    elif settings.async_mode == "gevent":
        from gevent.pool import Pool

        options["spawn"] = Pool(settings.max_connections)
    else:
        options["allow_unsafe_werkzeug"] = True  # development only: ASYNC_MODE=threading
    mode = settings.async_mode
    if settings.socketio_message_queue:
        mode += ", joined to the other processes through Redis"
    print(f"{name}Delivery Lab on http://{settings.host}:{settings.port}/ ({mode})", flush=True)
    socketio.run(app, host=settings.host, port=settings.port, debug=False, use_reloader=False,
                 log_output=False, **options)
    return 0


def handing_over_on_stop(socketio, live) -> None:
    """Several processes: on SIGTERM (or SIGINT) this process writes where each of its runs
    stands, hands their leases back and tells its tabs to reconnect, then exits; the tabs resume
    through another process with nothing missing or repeated (docs/server.md)."""
    import os
    import signal

    def stop_soon(signum, frame):
        def stop():
            try:
                n = live.hand_over()
                print(f"handed {n} runs over; stopping", flush=True)
                socketio.sleep(0.3)  # the "moving" messages reach their sockets
            finally:
                os._exit(0)

        socketio.start_background_task(stop)

    signal.signal(signal.SIGTERM, stop_soon)
    signal.signal(signal.SIGINT, stop_soon)


if __name__ == "__main__":
    sys.exit(main())

"""Several server processes behind nginx, joined by Redis: a real redis-server, two real app
processes (eventlet) and a real nginx on free loopback ports (tests/cluster.py), started once for
the module, talked to by real Socket.IO clients."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest
import redis
import test_browser_timeline as shared
from cluster import ClusterClient, access_log, app_address, running_cluster
from conftest import ROOT, free_port
from live_client import events_of, merge
from test_browser_timeline import open_lab

from deploy.cluster import render_site
from server import Settings, SettingsError
from server.pages import SECURITY_HEADERS
from simulator import Config, Simulation

pytestmark = pytest.mark.live

CAP = Settings().max_sessions_per_client  # sessions one client address may own (20)
browser = shared.browser  # real Chromium, for the one test of the page itself


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(processes=2) as running:
        yield running


def close_all(clients) -> None:
    for c in clients:
        c.close()


def test_a_tab_through_nginx_plays_a_run_named_in_redis_whose_frames_stay_local(cluster):
    # a tab's run lives with the process that holds it (its record and lease in Redis); its
    # frames go straight to the tab, not through Redis to every process (rooms, once they span
    # processes, will need the queue)
    queue = redis.Redis.from_url(cluster.redis_url)
    listener = queue.pubsub(ignore_subscribe_messages=True)
    listener.subscribe("flask-socketio")
    published = []
    stop = threading.Event()

    def listen():
        while not stop.is_set():
            message = listener.get_message(timeout=0.1)
            if message is not None:
                published.append(json.loads(message["data"]))

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    c = ClusterClient(cluster.url, lb="websocket-tab")
    try:
        token = c.session()["token"]
        assert c.wait_event("snapshot")["stream_seq"] == 0
        assert c.call("set_speed", {"speed": 50})["ok"]
        epoch = c.call("start", {"config": {"messages": 12}})["epoch"]
        c.wait_event("frame", where=lambda f: f["epoch"] == epoch and f["done"])
        frames = merge(c.of("frame"), epoch)
        assert [f["stream_seq"] for f in frames] == list(range(1, len(frames) + 1))
        assert events_of(frames) == Simulation(Config(messages=12)).run()
        record = json.loads(queue.get(f"delivery-lab:run:{token}"))
        assert record["epoch"] == epoch and record["run"]["settings"] == {"messages": 12}
        holder = queue.get(f"delivery-lab:lease:{token}").decode()
        assert re.fullmatch(r"app[12]:\d+:[0-9a-f]{8}\|\d+", holder)
        time.sleep(0.3)  # anything published would have arrived by now
    finally:
        stop.set()
        thread.join()
        listener.close()
        c.close()
    assert not [m for m in published if m.get("event") == "frame"]


def test_a_long_polling_tab_stays_on_one_process_for_every_request(cluster):
    c = ClusterClient(cluster.url, lb="polling-tab", transports=("polling",))
    try:
        c.session()
        c.wait_event("snapshot")
        assert c.call("set_speed", {"speed": 10})["ok"]
        epoch = c.call("start", {"config": {"messages": 12}})["epoch"]
        c.wait_event("frame", timeout=20, where=lambda f: f["epoch"] == epoch and f["done"])
        frames = merge(c.of("frame"), epoch)
        assert [f["stream_seq"] for f in frames] == list(range(1, len(frames) + 1))
        assert events_of(frames) == Simulation(Config(messages=12)).run()
        assert c.sio.transport() == "polling"
    finally:
        c.close()
    requests = [r for r in access_log(cluster) if r["lb"] == "polling-tab"]
    assert len(requests) >= 10  # the run took many long-polling requests...
    assert {r["status"] for r in requests} == {"200"}
    upstreams = {r["upstream"] for r in requests}
    assert len(upstreams) == 1  # ...every one to the same process
    assert upstreams <= {app_address(cluster, i) for i in range(2)}


def test_tabs_spread_over_both_processes_and_a_tab_comes_back_to_its_own(cluster):
    keys = [f"spread-{i}" for i in range(32)]
    tabs = [ClusterClient(cluster.url, lb=key, source=f"127.0.4.{i + 1}")
            for i, key in enumerate(keys)]
    try:
        tokens = [c.session()["token"] for c in tabs]
        # both processes have joined the message queue (a process joins it with its first client)
        queue = redis.Redis.from_url(cluster.redis_url)
        deadline = time.monotonic() + 5
        while queue.pubsub_numsub("flask-socketio")[0][1] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert queue.pubsub_numsub("flask-socketio") == [(b"flask-socketio", 2)]
        queue.close()
        # a tab that lost its connection comes back with its key to the process holding its run
        tabs[0].close()
        again = ClusterClient(cluster.url, lb=keys[0], source="127.0.4.1", token=tokens[0])
        tabs[0] = again
        session = again.session()
        assert session["token"] == tokens[0] and session["resumed"] is True
    finally:
        close_all(tabs)
    # nginx logs a websocket when it closes: which process served each tab
    deadline = time.monotonic() + 5
    while True:
        served = {}
        for r in access_log(cluster):
            if r["lb"] in keys and r["status"] == "101":
                served.setdefault(r["lb"], set()).add(r["upstream"])
        if len(served) == len(keys) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert set(served) == set(keys)
    assert all(len(upstreams) == 1 for upstreams in served.values())  # the reload too
    by_process = {next(iter(upstreams)) for upstreams in served.values()}
    assert by_process == {app_address(cluster, i) for i in range(2)}  # both serve tabs


def test_a_hall_of_students_behind_nginx_is_not_counted_as_one_address(cluster):
    # one more tab than one address may own, every one from a student of its own, all on one
    # process (the same key): nginx's address would have refused the last
    tabs = [ClusterClient(cluster.url, lb="hall", source=f"127.0.1.{i + 1}")
            for i in range(CAP + 2)]
    try:
        assert all(c.session()["resumed"] is False for c in tabs)
        time.sleep(0.3)  # a refusal would have come by now
        assert all(c.of("error") == [] and c.sio.connected for c in tabs)
    finally:
        close_all(tabs)


def refused(c: ClusterClient) -> dict:
    error = c.wait_event("error")
    c.wait_event("disconnect")  # and the server ends the connection
    assert c.of("session") == []
    return error


def test_one_address_behind_nginx_is_capped_whatever_it_forwards(cluster):
    tabs = [ClusterClient(cluster.url, lb="one-address", source="127.0.2.1",
                          forwarded_for=f"10.9.0.{i + 1}") for i in range(CAP)]
    try:
        assert all(c.session()["resumed"] is False for c in tabs)
        extra = ClusterClient(cluster.url, lb="one-address", source="127.0.2.1",
                              forwarded_for="10.9.0.99")
        tabs.append(extra)
        assert refused(extra)["code"] == "too_many_sessions"
    finally:
        close_all(tabs)


def test_one_address_is_capped_across_both_processes(cluster):
    # tabs of one address (one no other test uses) with keys of their own, spread over both
    # processes: the cap counts them together (in Redis), so the 21st is refused wherever nginx
    # sends it
    tabs = [ClusterClient(cluster.url, lb=f"spread-{i}", source="127.0.6.1") for i in range(CAP)]
    try:
        assert all(c.session()["resumed"] is False for c in tabs)
        spread = {app_of(cluster, c.session()["token"]) for c in tabs}
        assert spread == {0, 1}, "the tabs should be on both processes"
        for lb in ("spread-x", "spread-y"):  # whichever process each lands on
            extra = ClusterClient(cluster.url, lb=lb, source="127.0.6.1")
            tabs.append(extra)
            assert refused(extra)["code"] == "too_many_sessions"
        # a tab closed (its session waits to be resumed) makes room for a new tab that reaches
        # the process holding it: the waiting session is given up, as on one process
        tabs[0].close()
        time.sleep(0.3)
        again = ClusterClient(cluster.url, lb="spread-0", source="127.0.6.1")
        tabs.append(again)
        assert again.session()["resumed"] is False
    finally:
        close_all(tabs)


def app_of(cluster, token: str) -> int:
    """Which app process holds the session ``token`` (its lease names the process)."""
    holder = redis.Redis.from_url(cluster.redis_url).get(f"delivery-lab:lease:{token}")
    return int(holder.decode().split(":", 1)[0].removeprefix("app")) - 1


def test_a_forged_forwarded_for_sent_straight_to_a_process_is_ignored(cluster):
    # the app processes trust only nginx's address (127.0.0.1); a client that reaches one
    # directly from anywhere else keeps its own address, whatever header it sends
    # (with the page's origin, as a script would claim)
    direct = cluster.app_urls[0]
    tabs = [ClusterClient(direct, source="127.0.3.1", forwarded_for=f"10.8.0.{i + 1}",
                          origin=cluster.url) for i in range(CAP)]
    try:
        assert all(c.session()["resumed"] is False for c in tabs)
        extra = ClusterClient(direct, source="127.0.3.1", forwarded_for="10.8.0.99",
                              origin=cluster.url)
        tabs.append(extra)
        assert refused(extra)["code"] == "too_many_sessions"
    finally:
        close_all(tabs)


def get(url: str, path: str, headers: dict | None = None):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, answer.headers, answer.read()
    finally:
        conn.close()


def test_nginx_serves_the_static_files_with_the_headers_the_app_sends(cluster):
    for path in ("/static/js/connection.js", "/static/css/lab.css", "/static/img/favicon.svg"):
        status, headers, body = get(cluster.url, path)
        app_status, app_headers, app_body = get(cluster.app_urls[0], path)
        assert (status, body) == (app_status, app_body) == (200, body)
        assert headers["Server"] == "nginx"  # served by nginx, not passed on to the app
        for name in (*SECURITY_HEADERS, "Cache-Control", "Content-Type"):
            assert headers[name].lower().replace(" ", "") == \
                app_headers[name].lower().replace(" ", ""), name
        status, headers, body = get(cluster.url, path, {"If-None-Match": headers["ETag"]})
        assert (status, body) == (304, b"")
        assert headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    # the page itself comes from an app process, with its own headers
    status, headers, body = get(cluster.url, "/")
    assert status == 200 and b"<html" in body.lower()
    assert headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    # nothing outside static/ is served as a static file
    for path in ("/static/../app.py", "/static/..%2fapp.py", "/static/%2e%2e/app.py"):
        status, _, body = get(cluster.url, path)
        assert status in (400, 404) and b"monkey_patch" not in body, path


@pytest.mark.browser
def test_the_page_through_nginx_plays_and_a_reload_comes_back_to_its_run(browser, cluster):
    # real Chromium: the page's files from nginx (module scripts under nosniff and the CSP), its
    # socket through nginx with its tab's key; a reload keeps the key and so its run
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        lab = open_lab(context, cluster.url)
        errors = []
        lab.page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        lab.speed("10")
        lab.play()
        lab.wait("window.__lab.lastSeq >= 5", what="events")
        key = lab.lab("sessionStorage.getItem('delivery-lab-lb')")
        token = lab.lab("sessionStorage.getItem('delivery-lab-token')")
        assert re.fullmatch("[0-9a-f]{16}", key)
        lab.page.reload()
        lab.ready()
        assert lab.lab("sessionStorage.getItem('delivery-lab-lb')") == key
        lab.wait(f"sessionStorage.getItem('delivery-lab-token') === {token!r}"
                 " && window.__lab.lastSeq >= 5", what="the same run after the reload")
        other = open_lab(context, cluster.url)  # another tab: a key of its own
        assert other.lab("sessionStorage.getItem('delivery-lab-lb')") not in (key, None)
        assert lab.problems == other.problems == errors == []
    finally:
        context.close()
    # the first connection (closed by the reload) went through nginx as a websocket, keyed
    requests = [r for r in access_log(cluster) if r["lb"] == key]
    assert {r["status"] for r in requests} == {"101"}
    assert len({r["upstream"] for r in requests}) == 1


# --- settings, with no cluster ------------------------------------------------------------------
@pytest.mark.parametrize(("env", "named"), [
    ({"SOCKETIO_MESSAGE_QUEUE": "amqp://127.0.0.1/"}, "SOCKETIO_MESSAGE_QUEUE"),
    ({"SOCKETIO_MESSAGE_QUEUE": "127.0.0.1:6379"}, "SOCKETIO_MESSAGE_QUEUE"),
    ({"SOCKETIO_MESSAGE_QUEUE": "redis://127.0.0.1:http/0"}, "SOCKETIO_MESSAGE_QUEUE"),
    ({"SOCKETIO_MESSAGE_QUEUE": "redis://127.0.0.1:6379/zero"}, "SOCKETIO_MESSAGE_QUEUE"),
    ({"SOCKETIO_MESSAGE_QUEUE": "redis://[::1:6379/0"}, "SOCKETIO_MESSAGE_QUEUE"),
    ({"TRUSTED_PROXIES": "127.0.0.1, nginx.local"}, "TRUSTED_PROXIES"),
    ({"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES"),
])
def test_a_bad_scale_out_setting_is_refused_naming_the_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_scale_out_settings_are_off_by_default_and_read_from_the_environment():
    s = Settings.from_env({})
    assert (s.socketio_message_queue, s.trusted_proxies, s.instance) == ("", (), "")
    s = Settings.from_env({"SOCKETIO_MESSAGE_QUEUE": "rediss://:pw@redis.example:6380/2",
                           "TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8 ,::1",
                           "INSTANCE": "app3"})
    assert s.socketio_message_queue == "rediss://:pw@redis.example:6380/2"
    assert s.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    assert s.instance == "app3"
    assert "pw" not in repr(s)


def test_a_server_whose_redis_does_not_answer_stops_at_start_saying_so():
    url = f"redis://:secret-pw@127.0.0.1:{free_port()}/0"
    env = {**os.environ, "SOCKETIO_MESSAGE_QUEUE": url}
    done = subprocess.run([sys.executable, str(ROOT / "app.py"), "--port", str(free_port())],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "SOCKETIO_MESSAGE_QUEUE" in done.stderr and "no answer" in done.stderr
    assert "secret-pw" not in done.stderr


def test_the_nginx_site_refuses_values_that_would_change_its_meaning():
    site = render_site("8080", ["127.0.0.1:5001", "127.0.0.1:5002"], "lab.example.org")
    assert "server 127.0.0.1:5001 max_fails=0;" in site
    assert "server 127.0.0.1:5002 max_fails=0;" in site
    assert "{{" not in site
    for bad in ("lab.example.org; include /etc/passwd", "a { }", "$host"):
        with pytest.raises(ValueError, match="server name"):
            render_site("8080", ["127.0.0.1:5001"], bad)
    with pytest.raises(ValueError, match="app"):
        render_site("8080", ["127.0.0.1:5001 backup"])


def test_a_server_with_no_trusted_proxy_believes_no_forwarded_for(live_server):
    # the defaults (one process, TRUSTED_PROXIES unset): a forged header changes nothing
    tabs = [ClusterClient(live_server, source="127.0.5.1", forwarded_for=f"10.7.0.{i + 1}")
            for i in range(CAP)]
    try:
        assert all(c.session()["resumed"] is False for c in tabs)
        extra = ClusterClient(live_server, source="127.0.5.1", forwarded_for="10.7.0.99")
        tabs.append(extra)
        assert refused(extra)["code"] == "too_many_sessions"
    finally:
        close_all(tabs)

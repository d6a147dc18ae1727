"""HTTP routes (the page, a health check) and the security headers on every response.

The headers are added by a WSGI middleware around the whole app, so the Socket.IO endpoint's own
responses (long-polling, the websocket handshake), which never pass through Flask, carry them too.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup

from .rooms import normalise_code, shown

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}

pages = Blueprint("pages", __name__)
log = logging.getLogger(__name__)


@pages.get("/")
def index():
    response = make_response(render_template("index.html"))
    response.headers["Cache-Control"] = "no-cache"  # always revalidate: a new release shows
    return response


@pages.get("/healthz")
def healthz():
    registry = current_app.extensions["delivery_lab"].registry
    return jsonify(status="ok", sessions=len(registry.sessions),
                   connections=len(registry.by_sid), rooms=len(registry.rooms.by_code),
                   async_mode=registry.settings.async_mode)


@pages.get("/lessons.json")
def lesson_index():
    """The lessons that loaded, in order, for the lesson index."""
    lessons = current_app.extensions["delivery_lab_lessons"]
    return jsonify(lessons=[lesson.index_entry() for lesson in lessons.values()])


@pages.get("/lessons/<lesson_id>.json")
def lesson(lesson_id: str):
    """One lesson as the page reads it (its Markdown rendered to sanitised HTML)."""
    found = current_app.extensions["delivery_lab_lessons"].get(lesson_id)
    if found is None:
        return jsonify(error={"code": "not_found", "message": "no such lesson"}), 404
    return jsonify(lesson=found.to_page())


@pages.get("/lessons")
def lesson_list():
    """The lesson index: each lesson's title, goal, minutes and steps (progress is the page's,
    from the learner's own storage)."""
    from .lessons import render

    lessons = current_app.extensions["delivery_lab_lessons"]
    entries = [{**lesson.index_entry(), "goal_html": Markup(render(lesson.goal)),
                "step_ids": [s.id for s in lesson.steps],
                "after": [{"id": p, "title": lessons[p].title} for p in lesson.prerequisites
                          if p in lessons]} for lesson in lessons.values()]
    response = make_response(render_template("lessons.html", lessons=entries))
    response.headers["Cache-Control"] = "no-cache"
    return response


@pages.get("/lessons/<lesson_id>")
@pages.get("/lessons/<lesson_id>/<step_id>")
def lesson_page(lesson_id: str, step_id: str | None = None):
    """A lesson beside the live timeline, at one of its steps (the first without one)."""
    found = current_app.extensions["delivery_lab_lessons"].get(lesson_id)
    if found is None or (step_id is not None and step_id not in {s.id for s in found.steps}):
        return make_response(render_template("lesson_missing.html"), 404)
    response = make_response(render_template("lesson.html", lesson=found))
    response.headers["Cache-Control"] = "no-cache"
    return response


# --- rooms (docs/rooms.md) ---------------------------------------------------------------------
# These pages never say whether a room exists: only joining over the socket does, and wrong codes
# are rate limited there. A page for a code that is not even well formed says so.
@pages.get("/join")
def join():
    """Type a room's code (or arrive with ``?code=``: straight on to the room)."""
    raw = request.args.get("code")
    if raw is not None:
        code = normalise_code(raw)
        if code is not None:
            return redirect(url_for("pages.room_page", code=code))
        return _page(render_template("join.html", error="That is not a room code: codes are "
                                     "eight letters and digits, like ACDE-FHJK.", typed=raw[:32]),
                     400)
    return _page(render_template("join.html", error=None, typed=""))


@pages.get("/room/<code>")
def room_page(code: str):
    """A student's page: the presenter's run, followed live; votes; a fork when released."""
    found = normalise_code(code)
    if found is None:
        return join_refused(code)
    if found != code:
        return redirect(url_for("pages.room_page", code=found))
    return _page(render_template("room.html", code=found, shown=shown(found)))


@pages.get("/room/<code>/screen")
def room_screen(code: str):
    """The projector's view of a room: large type, the code and its QR code, the tally."""
    found = normalise_code(code)
    if found is None:
        return join_refused(code)
    return _page(render_template("room_screen.html", code=found, shown=shown(found),
                                 join_url=join_url(found)))


@pages.get("/room/<code>/qr.svg")
def room_qr(code: str):
    """The join URL of ``code`` as a QR code (SVG), dark on light for any phone camera."""
    import io

    import segno

    found = normalise_code(code)
    if found is None:
        return join_refused(code)
    out = io.BytesIO()
    segno.make(join_url(found), error="m").save(out, kind="svg", scale=8, border=4,
                                               dark="#000", light="#fff", xmldecl=False,
                                               svgns=True, title=f"Join room {shown(found)}")
    response = make_response(out.getvalue())
    response.headers["Content-Type"] = "image/svg+xml"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def join_url(code: str) -> str:
    """The address students open: on the configured public origin, else the one asked on."""
    settings = current_app.extensions["delivery_lab"].settings
    base = settings.public_origins[0] if settings.public_origins else request.host_url.rstrip("/")
    return f"{base}/room/{code}"


def join_refused(raw: str):
    return _page(render_template("join.html", error="That is not a room code: codes are eight "
                                 "letters and digits, like ACDE-FHJK.", typed=raw[:32]), 400)


def _page(body, status: int = 200):
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-cache"
    return response


class SecureHeaders:
    """WSGI middleware: every response gets the security headers it does not set itself."""

    def __init__(self, app):
        self.app = app
        self.headers = [(k, v) for k, v in SECURITY_HEADERS.items()]

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            have = {name.lower() for name, _ in headers}
            headers = list(headers) + [(k, v) for k, v in self.headers if k.lower() not in have]
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def install(app: Flask, lessons_dir: Path) -> None:
    """Register the routes; load the lessons (a file that fails validation is logged, naming
    file, step and field, and left out); wrap the whole app (Socket.IO's endpoint included) in
    the headers."""
    from .lessons import load_all

    lessons, errors = load_all(lessons_dir)
    for error in errors:
        log.warning("lesson left out: %s", error)
    app.extensions["delivery_lab_lessons"] = {lesson.id: lesson for lesson in lessons}
    app.register_blueprint(pages)
    app.wsgi_app = SecureHeaders(app.wsgi_app)

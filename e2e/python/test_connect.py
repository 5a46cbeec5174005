"""The official-protocol Python client (python-socketio) against a real chorus process:
both transports, session:ready, an acked content:join, a like broadcast to a second
client, and a refusal that carries {message, data.code}."""

import threading
import uuid

import pytest
import requests
import socketio

TIMEOUT = 5


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Client:
    """A python-socketio client that records session:ready and chosen events."""

    def __init__(self, watch=()):
        self.sio = socketio.Client(reconnection=False)
        self.session = None
        self.ready = threading.Event()
        self.events = {name: [] for name in watch}
        self.cond = threading.Condition()

        @self.sio.on("session:ready")
        def _ready(data):
            self.session = data
            self.ready.set()

        for name in watch:
            self.sio.on(name, handler=self._recorder(name))

    def _recorder(self, name):
        def record(data):
            with self.cond:
                self.events[name].append(data)
                self.cond.notify_all()
        return record

    def connect(self, url, token, transports):
        self.sio.connect(url, auth={"token": token}, transports=transports, wait_timeout=TIMEOUT)
        assert self.ready.wait(TIMEOUT), "no session:ready"
        return self

    def wait_for(self, name, predicate, timeout=TIMEOUT):
        with self.cond:
            ok = self.cond.wait_for(lambda: any(predicate(e) for e in self.events[name]), timeout)
            assert ok, f"no matching {name!r} within {timeout}s; got {self.events[name][-5:]!r}"
            return next(e for e in self.events[name] if predicate(e))

    def close(self):
        self.sio.disconnect()


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
def test_python_client_connects_gets_session_ready_and_joins(chorus, transports):
    user_id = uid("py")
    c = Client().connect(chorus.url, chorus.token(user_id), transports)
    try:
        assert c.sio.transport() == transports[0]
        assert c.session["userId"] == user_id
        assert isinstance(c.session["sid"], str) and c.session["sid"]
        assert isinstance(c.session["serverTime"], str)
        assert c.session["recovered"] is False
        assert c.session["unreadNotifications"] == 0
        content_id = uid("c")
        ack = c.sio.call("content:join", {"contentId": content_id}, timeout=TIMEOUT)
        assert ack["ok"] is True, ack
        assert ack["data"]["contentId"] == content_id
        assert ack["data"]["counts"] == {"likes": 0, "comments": 0, "views": 0, "shares": 0}
        assert ack["data"]["likedByMe"] is False
    finally:
        c.close()


def test_a_like_from_a_websocket_client_is_broadcast_to_a_polling_client(chorus):
    content_id = uid("video")
    r = requests.put(
        f"{chorus.url}/api/server/content/{content_id}",
        json={"type": "video", "ownerId": uid("owner")},
        headers={"Authorization": f"Bearer {chorus.server_key}"},
        timeout=TIMEOUT,
    )
    assert r.status_code in (200, 201), r.text
    assert r.json()["success"] is True

    liker_id = uid("liker")
    liker = Client().connect(chorus.url, chorus.token(liker_id), ["websocket"])
    watcher = Client(watch=["content:like"]).connect(chorus.url, chorus.token(uid("watcher")), ["polling"])
    try:
        assert liker.sio.call("content:join", {"contentId": content_id}, timeout=TIMEOUT)["ok"] is True
        joined = watcher.sio.call("content:join", {"contentId": content_id}, timeout=TIMEOUT)
        assert joined["ok"] is True
        assert joined["data"]["contentType"] == "video"
        assert joined["data"]["viewerCount"] == 2

        ack = liker.sio.call("content:like", {"contentId": content_id, "like": True}, timeout=TIMEOUT)
        assert ack == {"ok": True, "data": {"isLiked": True, "likesCount": 1}}
        ev = watcher.wait_for("content:like", lambda e: e.get("contentId") == content_id)
        assert ev["userId"] == liker_id
        assert ev["isLiked"] is True
        assert ev["likesCount"] == 1
        assert isinstance(ev["timestamp"], str)
    finally:
        liker.close()
        watcher.close()


def test_a_bad_token_is_refused_with_unauthorized_and_a_code(chorus):
    sio = socketio.Client(reconnection=False)
    errors = []
    sio.on("connect_error", handler=lambda data=None: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(chorus.url, auth={"token": "garbage"}, transports=["websocket"], wait_timeout=TIMEOUT)
    assert errors == [{"message": "unauthorized", "data": {"code": "auth_invalid"}}]

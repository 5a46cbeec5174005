"""A python-socketio client in a process of its own, so a test can SIGSTOP it.

Usage: stall_client.py URL TOKEN TRANSPORT. It connects with reconnection on and prints
one line per event on stdout, flushed at once: `ready <sid>` for each
session:ready, `disconnect <reason>` for each disconnect.
"""

import sys

import socketio


def main() -> None:
    url, token, transport = sys.argv[1], sys.argv[2], sys.argv[3]
    sio = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1)

    @sio.on("session:ready")
    def _ready(data):
        print(f"ready {data.get('sid')}", flush=True)

    @sio.event
    def disconnect(reason=None):
        print(f"disconnect {reason}", flush=True)

    sio.connect(url, auth={"token": token}, transports=[transport], wait_timeout=5)
    sio.wait()


if __name__ == "__main__":
    main()

"""Who may talk to a host's bridge socket: only the guest it started (DESIGN §6, Authentication).

The host's ROUTER listens on 127.0.0.1, which every local user can reach. Each guest launch gets a
`Gate`: fresh credentials that only that guest receives (through an inherited pipe, never the
command line or the environment), checked by a ZAP handler before any frame of a connection
counts, and routing ids drawn at random, which the host checks on every frame it receives and
the only address it sends to. Two mechanisms, both authenticated:
- CURVE (`encrypt=True`): a key pair per host socket and per guest; the ZAP handler admits exactly
  the guest's public key, and the guest admits only the host's (so nothing else can pose as the
  host either). Every message is encrypted and authenticated, at a cost on bulk data (see
  docs/bridge.md for the figures).
- PLAIN with a per-guest 256-bit secret (the default): checked the same way at the handshake,
  then no per-message cost. Sound on loopback: reading another user's loopback traffic or
  injecting into an established connection needs privileges that defeat any scheme here, and
  the guest never reconnects (a port freed by a dead host cannot be taken over to harvest it).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from typing import Any

import zmq
from zmq.auth.thread import ThreadAuthenticator

_lock = threading.Lock()
_authenticators: dict[int, ThreadAuthenticator] = {}  # one ZAP handler per zmq context


class _Admission:
    """The ZAP credentials provider of CURVE gates: per ZAP domain, the one key admitted."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}

    def callback(self, domain: str, key: bytes) -> bool:
        admitted = self.keys.get(domain)
        return admitted is not None and secrets.compare_digest(admitted, key)


_admission = _Admission()


def _authenticator(context: zmq.Context[Any]) -> ThreadAuthenticator:
    """The context's ZAP handler, started on first use. Once it runs, every CURVE and PLAIN
    handshake on the context's sockets asks it; sockets of other mechanisms are not affected."""
    with _lock:
        authenticator = _authenticators.get(id(context))
        if authenticator is None or authenticator.context is not context:
            authenticator = ThreadAuthenticator(context)
            authenticator.start()
            _authenticators[id(context)] = authenticator
        return authenticator


class Gate:
    """The credentials and routing ids of one guest launch, and their check on the host socket."""

    def __init__(self, context: zmq.Context[Any], encrypt: bool) -> None:
        self.encrypt = encrypt
        # Hex: a routing id must not start with a zero byte (libzmq reserves those).
        self.main_id = secrets.token_hex(16).encode()
        self.heartbeat_id = secrets.token_hex(16).encode()
        self._domain = f"casparian-{secrets.token_hex(16)}"
        self._authenticator = _authenticator(context)
        if encrypt:
            self._server_public, self._server_secret = zmq.curve_keypair()
            self._guest_public, self._guest_secret = zmq.curve_keypair()
        else:
            self._password = secrets.token_hex(32)

    def secure(self, socket: zmq.Socket[Any]) -> None:
        """Make the host's ROUTER (not yet bound) admit only this gate's guest."""
        socket.zap_domain = self._domain.encode()
        socket.setsockopt(zmq.ZAP_ENFORCE_DOMAIN, 1)  # no ZAP handler: nobody gets in
        if self.encrypt:
            socket.curve_server = True
            socket.curve_secretkey = self._server_secret
            socket.curve_publickey = self._server_public
            _admission.keys[self._domain] = self._guest_public
            self._authenticator.configure_curve_callback(self._domain, _admission)
        else:
            socket.plain_server = True
            self._authenticator.configure_plain(self._domain, {"guest": self._password})

    def close(self) -> None:
        """Admit nobody any more (the guest is gone)."""
        _admission.keys.pop(self._domain, None)
        self._authenticator.credentials_providers.pop(self._domain, None)
        self._authenticator.passwords.pop(self._domain, None)

    def hand_over(self) -> int:
        """A pipe's read end holding what the guest needs to connect (read by guest.read_link
        at start-up): pass it to the guest (`pass_fds`), then close it here."""
        link: dict[str, str] = {
            "main_id": self.main_id.decode(),
            "heartbeat_id": self.heartbeat_id.decode(),
        }
        if self.encrypt:
            link["server_key"] = self._server_public.decode()
            link["public_key"] = self._guest_public.decode()
            link["secret_key"] = self._guest_secret.decode()
        else:
            link["password"] = self._password
        payload = json.dumps(link).encode()
        read_end, write_end = os.pipe()  # far below a pipe's buffer: the write never blocks
        try:
            os.write(write_end, payload)
        finally:
            os.close(write_end)
        return read_end

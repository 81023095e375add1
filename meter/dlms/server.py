"""The meter's DLMS/COSEM server: TCP with the wrapper (IEC 62056-47), logical name
referencing, one association per connection, on gurux-dlms's server side.

Clients (wrapper addresses):

- 16, the public client: no authentication; it may read the logical device name only;
- any other client (1, the management client, as head-ends use): low-level security (LLS),
  the meter's `dlms.password`; a wrong or missing password is refused (AARE rejected,
  authentication failure). Everything is read-only.

The meter is logical device 1 (the management logical device).
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading

from gurux_dlms import GXByteBuffer, GXServerReply
from gurux_dlms._GXAPDU import _GXAPDU
from gurux_dlms.enums import AccessMode, Authentication, InterfaceType, MethodAccessMode
from gurux_dlms.enums.SourceDiagnostic import SourceDiagnostic
from gurux_dlms.GXDLMSLongTransaction import GXDLMSLongTransaction
from gurux_dlms.objects import GXDLMSAssociationLogicalName
from gurux_dlms.secure import GXDLMSSecureServer

from meter.dlms import objects
from meter.dlms.source import MeterSource

log = logging.getLogger("meter.dlms")

PUBLIC_CLIENT = 16
LOGICAL_DEVICE = 1
MAX_PDU = 1024
# A client that sends nothing for this long is dropped (a real meter's inactivity timeout).
IDLE_TIMEOUT_S = 120


class Association(GXDLMSSecureServer):
    """One client's association with the meter (gurux keeps its state per server object)."""

    def __init__(self, src: MeterSource, password: str | None):
        super().__init__(True, InterfaceType.WRAPPER)
        self._password = password.encode() if password else None
        self.settings.maxServerPDUSize = MAX_PDU
        # gurux-dlms's next-block reply reads this misspelt name.
        self.settings.gbtWndowSize = 1
        association = GXDLMSAssociationLogicalName()
        for obj in [*objects.build(src), association]:
            self.items.append(obj)
            # Filled here: gurux's initialize() would append the whole collection as one item.
            association.objectList.append(obj)
        self.initialize()

    # -- who may connect ----------------------------------------------------------------------

    def isTarget(self, serverAddress, clientAddress):
        return serverAddress == LOGICAL_DEVICE

    def onValidateAuthentication(self, authentication, password):
        client = self.settings.clientAddress
        if authentication == Authentication.NONE:
            ok = client == PUBLIC_CLIENT
        elif authentication == Authentication.LOW:
            ok = self._password is not None and bytes(password or b"") == self._password
        else:
            return SourceDiagnostic.NOT_RECOGNISED
        if not ok:
            log.warning("refused client %s: authentication %s failed", client, authentication)
        return SourceDiagnostic.NONE if ok else SourceDiagnostic.AUTHENTICATION_FAILURE

    def onGetAttributeAccess(self, arg):
        if self.settings.authentication == Authentication.NONE:
            public = (objects.LDN, "0.0.40.0.0.255")
            return AccessMode.READ if arg.target.logicalName in public else AccessMode.NO_ACCESS
        return AccessMode.READ

    def onGetMethodAccess(self, arg):
        return MethodAccessMode.NO_ACCESS

    def handleReleaseRequest(self, data):
        """RLRE, reason normal, with the negotiated xDLMS context (gurux-dlms's own RLRE gets
        both of its length bytes wrong)."""
        info = bytes(_GXAPDU.getUserInformation(self.settings, self.settings.cipher))
        user = bytes([0x04, len(info)]) + info
        body = bytes([0x80, 0x01, 0x00, 0xBE, len(user)]) + user
        self.replyData.set(bytes([0x63, len(body)]) + body)

    # -- hooks the library calls (values are computed in the objects themselves) -------------

    def setTransaction(self, value):
        """A long (block-transfer) read in progress: gurux-dlms calls these accessors."""
        if value is not None and not isinstance(value, _LongTransaction):
            value = _LongTransaction(value.targets, value.command, value.data)
        self.transaction = value

    def getTransaction(self):
        return self.transaction

    def notifyRead(self, *args):
        """gurux-dlms's normal GET calls this (without arguments) instead of onPreRead."""

    def onPreRead(self, args):
        pass

    def onPostRead(self, args=None):
        pass

    def onPreGet(self, args):
        pass

    def onPostGet(self, args):
        pass

    def onPreWrite(self, args):
        pass

    def onPostWrite(self, args):
        pass

    def onPreAction(self, args):
        pass

    def onPostAction(self, args):
        pass

    def onFindObject(self, objectType, sn, ln):
        return None

    def onConnected(self, connectionInfo):
        pass

    def onInvalidConnection(self, connectionInfo):
        pass

    def onDisconnected(self, connectionInfo):
        pass


class _LongTransaction(GXDLMSLongTransaction):
    """The rest of a long read; gurux-dlms's next-block reply calls setData(), which its own
    class lacks."""

    def setData(self, value):
        self.data = GXByteBuffer()
        self.data.set(value)


class _Reply(GXServerReply):
    """The accessors gurux-dlms's server calls and its GXServerReply lacks."""

    def setReply(self, value):
        self.reply = value

    def getConnectionInfo(self):
        return self.connectionInfo


def serve_connection(sock: socket.socket, assoc: Association, peer) -> None:
    """Answer one client's requests on `sock` until it hangs up, idles out or sends garbage
    (the caller closes the socket)."""
    sock.settimeout(IDLE_TIMEOUT_S)
    while True:
        try:
            data = sock.recv(4096)
        except (TimeoutError, OSError):
            return
        if not data:
            return
        reply = _Reply(data)
        try:
            assoc.handleRequest(reply)
        except Exception:  # a malformed request must not take the server down
            log.exception("bad request from %s", peer)
            return
        if reply.reply:
            sock.sendall(bytes(reply.reply))


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        server: DlmsServer = self.server  # type: ignore[assignment]
        serve_connection(self.request, Association(server.src, server.password),
                         self.client_address)


class DlmsServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, src: MeterSource, host: str, port: int, password: str | None):
        self.src = src
        self.password = password
        super().__init__((host, port), _Handler)

    def serve_in_thread(self) -> threading.Thread:
        t = threading.Thread(target=self.serve_forever, daemon=True)
        t.start()
        return t

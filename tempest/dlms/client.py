"""A DLMS/COSEM client session (TCP, wrapper, low-level security) on PyPI's dlms-cosem: the
reads the collector needs, as plain Python values."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime

import structlog
from dlms_cosem import cosem, enumerations, exceptions, utils
from dlms_cosem.client import DlmsClient
from dlms_cosem.cosem.selective_access import CaptureObject, RangeDescriptor
from dlms_cosem.io import BlockingTcpIO, TcpTransport
from dlms_cosem.security import LowLevelSecurityAuthentication
from dlms_cosem.time import datetime_from_bytes

LOAD_PROFILE = "1.0.99.1.0.255"
_I = enumerations.CosemInterface
_CLOCK = cosem.CosemAttribute(interface=_I.CLOCK, instance=cosem.Obis.from_string("0.0.1.0.0.255"),
                              attribute=2)
MANAGEMENT_CLIENT = 1
METER_LOGICAL_DEVICE = 1

# dlms-cosem logs every frame at debug level through structlog: warnings only.
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


class _TcpIO(BlockingTcpIO):
    """dlms-cosem's TCP io, but a connection the meter closes mid-read is an error: the
    library's own `recv` loops for ever on an empty read (EOF), so a meter that drops the
    connection would hang the collector (tests/dlms/test_collector_faults.py)."""

    def recv(self, amount: int = 1) -> bytes:
        if not self.tcp_socket:
            raise RuntimeError("TCP transport not connected.")
        data = b""
        while len(data) < amount:
            try:
                chunk = self.tcp_socket.recv(amount - len(data))
            except OSError as exc:
                raise exceptions.CommunicationError("Could not receive data") from exc
            if not chunk:
                raise exceptions.CommunicationError("the meter closed the connection")
            data += chunk
        return data


def obis_text(raw: bytes) -> str:
    return ".".join(str(b) for b in bytes(raw))


class Session:
    def __init__(self, client: DlmsClient):
        self._client = client

    def _get(self, interface, obis: str, attribute: int, access=None):
        attr = cosem.CosemAttribute(interface=interface, instance=cosem.Obis.from_string(obis),
                                    attribute=attribute)
        return utils.parse_as_dlms_data(self._client.get(attr, access_descriptor=access))

    def clock(self) -> datetime:
        return datetime_from_bytes(bytes(self._get(_I.CLOCK, "0.0.1.0.0.255", 2)))[0]

    def register(self, obis: str) -> int:
        """The register's value scaled to its unit's base (Wh for energy)."""
        scaler, _unit = self._get(_I.REGISTER, obis, 3)
        value = self._get(_I.REGISTER, obis, 2)
        return value * 10 ** scaler if scaler >= 0 else value // 10 ** -scaler

    def capture_objects(self, obis: str = LOAD_PROFILE) -> list[str]:
        return [obis_text(c[1]) for c in self._get(_I.PROFILE_GENERIC, obis, 3)]

    def capture_period_s(self, obis: str = LOAD_PROFILE) -> int:
        return self._get(_I.PROFILE_GENERIC, obis, 4)

    def profile(self, first: datetime, last: datetime, obis: str = LOAD_PROFILE) -> list[list]:
        """Rows of the profile whose clock is in [first, last] (selective access by range),
        the clock column parsed."""
        access = RangeDescriptor(
            restricting_object=CaptureObject(cosem_attribute=_CLOCK, data_index=0),
            from_value=first, to_value=last)
        rows = self._get(_I.PROFILE_GENERIC, obis, 2, access) or []
        return [[datetime_from_bytes(bytes(r[0]))[0], *r[1:]] for r in rows]


@contextlib.contextmanager
def session(host: str, port: int, password: str, timeout: int = 30) -> Iterator[Session]:
    io = _TcpIO(host=host, port=port, timeout=timeout)
    transport = TcpTransport(client_logical_address=MANAGEMENT_CLIENT,
                             server_logical_address=METER_LOGICAL_DEVICE, io=io, timeout=timeout)
    client = DlmsClient(transport=transport, timeout=timeout,
                        authentication=LowLevelSecurityAuthentication(secret=password.encode()))
    with client.session():
        yield Session(client)

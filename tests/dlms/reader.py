"""An independent DLMS/COSEM client for the tests: PyPI's dlms-cosem (not the gurux-dlms the
meter serves with), over TCP with the wrapper, as a head-end would read our meters."""

from __future__ import annotations

import contextlib
from datetime import datetime

from dlms_cosem import cosem, enumerations, utils
from dlms_cosem.client import DlmsClient
from dlms_cosem.cosem.selective_access import CaptureObject, RangeDescriptor
from dlms_cosem.io import BlockingTcpIO, TcpTransport
from dlms_cosem.security import LowLevelSecurityAuthentication, NoSecurityAuthentication
from dlms_cosem.time import datetime_from_bytes

I = enumerations.CosemInterface  # noqa: E741
CLOCK = cosem.CosemAttribute(interface=I.CLOCK, instance=cosem.Obis.from_string("0.0.1.0.0.255"),
                             attribute=2)


class Reader:
    def __init__(self, client: DlmsClient):
        self.client = client

    def raw(self, interface, obis: str, attribute: int = 2, access=None) -> bytes:
        attr = cosem.CosemAttribute(interface=interface, instance=cosem.Obis.from_string(obis),
                                    attribute=attribute)
        return self.client.get(attr, access_descriptor=access)

    def value(self, interface, obis: str, attribute: int = 2):
        return utils.parse_as_dlms_data(self.raw(interface, obis, attribute))

    def register(self, obis: str) -> tuple[int, int, int]:
        """(value, scaler, unit)"""
        scaler, unit = self.value(I.REGISTER, obis, 3)
        return self.value(I.REGISTER, obis), scaler, unit

    def clock(self) -> tuple[datetime, int]:
        """(the meter's time, clock status byte)"""
        raw = self.value(I.CLOCK, "0.0.1.0.0.255")
        when, status = datetime_from_bytes(bytes(raw))
        return when, bytes(raw)[11]

    def profile(self, obis: str, first: datetime | None = None, last: datetime | None = None
                ) -> list[list]:
        """Rows with the clock column parsed; by range (selective access 1) when given."""
        access = None
        if first is not None:
            access = RangeDescriptor(restricting_object=CaptureObject(cosem_attribute=CLOCK,
                                                                      data_index=0),
                                     from_value=first, to_value=last)
        rows = utils.parse_as_dlms_data(self.raw(I.PROFILE_GENERIC, obis, 2, access)) or []
        return [[datetime_from_bytes(bytes(r[0]))[0], *r[1:]] for r in rows]


@contextlib.contextmanager
def session(host: str, port: int, password: bytes | None, client_address: int = 1):
    auth = (LowLevelSecurityAuthentication(secret=password) if password is not None
            else NoSecurityAuthentication())
    io = BlockingTcpIO(host=host, port=port, timeout=20)
    transport = TcpTransport(client_logical_address=client_address, server_logical_address=1,
                             io=io, timeout=20)
    client = DlmsClient(transport=transport, authentication=auth, timeout=20)
    with client.session():
        yield Reader(client)


def _quiet_structlog() -> None:
    """dlms-cosem logs every frame through structlog at debug level: keep warnings only."""
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


_quiet_structlog()

"""The two protobuf messages of etcd's LeaseKeepAlive, encoded by hand."""

import pytest

from vmr_common import exceptions
from vmr_common import grpclease


def _response(lease_id, ttl, header=b'\x08\x01\x10\x02'):
    """A LeaseKeepAliveResponse as etcd sends it (header, ID, TTL)."""
    def varint(n):
        n &= 0xFFFFFFFFFFFFFFFF
        out = bytearray()
        while True:
            byte = n & 0x7F
            n >>= 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)
    return (b'\x0a' + varint(len(header)) + header + b'\x10' +
            varint(lease_id) + b'\x18' + varint(ttl))


@pytest.mark.parametrize('lease_id, wire', [
    (1, b'\x08\x01'),
    (127, b'\x08\x7f'),
    (128, b'\x08\x80\x01'),
    (300, b'\x08\xac\x02'),
    (0x694d806d9ffa9f03, b'\x08\x83\xbe\xea\xff\xd9\x8d\xe0\xa6\x69'),
])
def test_request_is_field_one_varint(lease_id, wire):
    assert grpclease.encode_request(lease_id) == wire


@pytest.mark.parametrize('lease_id, ttl', [
    (1, 3), (7587862155512946435, 30), (42, 0), (42, -1)])
def test_response_round_trip(lease_id, ttl):
    assert grpclease.decode_response(_response(lease_id, ttl)) == (lease_id,
                                                                   ttl)


def test_response_without_ttl_means_the_lease_is_gone():
    # etcd omits zero fields: a renewal of an expired lease answers TTL 0,
    # i.e. no field 3 at all.
    assert grpclease.decode_response(b'\x0a\x02\x08\x01\x10\x2a') == (42, 0)


@pytest.mark.parametrize('data', [b'\x10', b'\x0a\x05\x08', b'\x10\x80'])
def test_truncated_response_is_an_error(data):
    with pytest.raises(ValueError):
        grpclease.decode_response(data)


def test_unknown_transport_is_one_config_error():
    with pytest.raises(exceptions.ConfigError) as info:
        grpclease.Heart(store=None, transport='udp')
    assert 'auto, grpc, gateway' in str(info.value)


def test_grpc_transport_without_grpcio_names_the_package(monkeypatch):
    monkeypatch.setattr(grpclease, 'grpc_available', lambda: False)
    with pytest.raises(exceptions.ConfigError) as info:
        grpclease.Heart(store=None, transport='grpc')
    assert 'pip install grpcio' in str(info.value)
    assert grpclease.Heart(store=None, transport='auto').using == 'gateway'

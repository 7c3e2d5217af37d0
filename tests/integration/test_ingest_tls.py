"""TLS and mTLS on a live server with a throwaway CA made in the test (`cryptography`)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import grpc
import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ingest.client import auth_metadata, open_channel, stub

from .ingest_support import Prepared, ServerThread, good_batch, prepare_data_dir


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(
    dir_: Path,
    stem: str,
    cn: str,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    server: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A key + certificate (self-signed CA when `issuer` is None), written as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn) if issuer is None else issuer[0].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        )
    cert = builder.sign(key if issuer is None else issuer[1], hashes.SHA256())
    (dir_ / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (dir_ / f"{stem}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca, server (localhost), a client signed by the CA, and a client from another CA."""
    d = tmp_path_factory.mktemp("pki")
    ca = _issue(d, "ca", "qrtrace test CA", None)
    _issue(d, "server", "localhost", ca, server=True)
    _issue(d, "client", "gateway-1", ca)
    rogue = _issue(d, "rogue-ca", "rogue CA", None)
    _issue(d, "rogue", "gateway-x", rogue)
    return d


async def _one_batch(prepared: Prepared, target: str, pki: Path, client: str | None) -> int:
    """Stream one 50-scan batch; returns how many were accepted."""
    cert = key = None
    if client is not None:
        cert, key = pki / f"{client}.crt", pki / f"{client}.key"
    rng = np.random.default_rng(7)
    async with open_channel(target, ca_file=pki / "ca.crt", cert=cert, key=key) as channel:
        call = stub(channel).StreamScans(
            iter([good_batch(prepared, 1, 50, rng)]),
            metadata=auth_metadata(prepared.token),
            timeout=20,
        )
        acks = [ack async for ack in call]
    return sum(a.accepted for a in acks)


def _serve(tmp_path: Path, pki: Path, *, mtls: bool) -> tuple[Prepared, ServerThread]:
    prepared = prepare_data_dir(
        tmp_path,
        ingest_tls_cert=pki / "server.crt",
        ingest_tls_key=pki / "server.key",
        ingest_tls_client_ca=(pki / "ca.crt") if mtls else None,
    )
    return prepared, ServerThread(prepared.settings)


def test_tls_serves_and_refuses_plaintext(tmp_path: Path, pki: Path) -> None:
    prepared, server = _serve(tmp_path, pki, mtls=False)
    target = f"localhost:{server.port}"
    try:
        assert asyncio.run(_one_batch(prepared, target, pki, None)) == 50

        async def plaintext() -> None:
            async with open_channel(target) as channel:
                call = stub(channel).StreamScans(
                    iter([good_batch(prepared, 2, 5, np.random.default_rng(1))]),
                    metadata=auth_metadata(prepared.token),
                    timeout=5,
                )
                _ = [a async for a in call]

        with pytest.raises(grpc.aio.AioRpcError) as err:
            asyncio.run(plaintext())
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop()


def test_mtls_needs_a_client_certificate_from_the_configured_ca(tmp_path: Path, pki: Path) -> None:
    prepared, server = _serve(tmp_path, pki, mtls=True)
    target = f"localhost:{server.port}"
    try:
        assert asyncio.run(_one_batch(prepared, target, pki, "client")) == 50
        for client in (None, "rogue"):  # no certificate / one from another CA
            with pytest.raises(grpc.aio.AioRpcError) as err:
                asyncio.run(_one_batch(prepared, target, pki, client))
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE, client
    finally:
        server.stop()

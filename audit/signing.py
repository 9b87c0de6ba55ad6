"""Ed25519 signatures of an audit's manifest: keys from PEM files, a detached signature.

The signature file (``manifest.json.sig``) holds one line: the base64 of the 64-byte
Ed25519 signature over the exact bytes of ``manifest.json``. Any Ed25519 tool can check it,
e.g. ``base64 -d manifest.json.sig > sig.bin && openssl pkeyutl -verify -pubin -inkey
public.pem -rawin -in manifest.json -sigfile sig.bin``.

Keys are PEM files (PKCS#8 private keys, SubjectPublicKeyInfo public keys), as
``openssl genpkey -algorithm ed25519`` or ``rai-audit keys create`` write them. A private
key protected by a passphrase is read with the passphrase in ``RAI_AUDIT_SIGN_PASSPHRASE``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.errors import AuditError

PASSPHRASE_VARIABLE = "RAI_AUDIT_SIGN_PASSPHRASE"
PRIVATE_KEY_FILE = "rai-audit-signing-key.pem"
PUBLIC_KEY_FILE = "rai-audit-signing-key.pub.pem"
MAKE_ONE = (
    "Make a key pair with `rai-audit keys create --out DIR` "
    "(or `openssl genpkey -algorithm ed25519`)."
)


def _read_key_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise AuditError(f"Cannot read the {what} {path}: {exc.strerror or exc}.") from None


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file ``path``.

    Raises
    ------
    AuditError
        When the file cannot be read, is not a PEM private key, is encrypted and the
        passphrase (``RAI_AUDIT_SIGN_PASSPHRASE``) is missing or wrong, or is not Ed25519.
    """
    path = Path(path)
    pem = _read_key_file(path, "signing key")
    passphrase = os.environ.get(PASSPHRASE_VARIABLE)
    password = passphrase.encode("utf-8") if passphrase else None
    try:
        key = serialization.load_pem_private_key(pem, password=password)
    except TypeError:  # encrypted without a password given, or a password for a plain key
        if password is None:
            raise AuditError(
                f"The signing key {path} is protected by a passphrase: set it in the "
                f"environment variable {PASSPHRASE_VARIABLE}, or use an unencrypted key."
            ) from None
        raise AuditError(
            f"The signing key {path} is not encrypted, but {PASSPHRASE_VARIABLE} is set: unset it."
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        wrong = " or the passphrase is wrong" if password is not None else ""
        raise AuditError(
            f"The signing key {path} is not a PEM private key{wrong}. {MAKE_ONE}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditError(
            f"The signing key {path} is not an Ed25519 key (it is "
            f"{type(key).__name__.lstrip('_')}). {MAKE_ONE}"
        )
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """The Ed25519 public key in the PEM file ``path``.

    Raises
    ------
    AuditError
        When the file cannot be read, is not a PEM public key, or is not Ed25519.
    """
    path = Path(path)
    pem = _read_key_file(path, "public key")
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        private = b"PRIVATE KEY" in pem
        hint = (
            " It holds a private key: give the public key (keep the private one secret)."
            if private
            else ""
        )
        raise AuditError(f"The public key {path} is not a PEM public key.{hint}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditError(f"The public key {path} is not an Ed25519 key. {MAKE_ONE}")
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, in hex: names the key in a manifest."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def signature_file(key: Ed25519PrivateKey, content: bytes) -> bytes:
    """The content of the signature file: base64 of the signature over ``content``, a line."""
    return base64.b64encode(key.sign(content)) + b"\n"


def signature_matches(key: Ed25519PublicKey, content: bytes, signature_text: bytes) -> bool:
    """Whether ``signature_text`` (a signature file's bytes) signs ``content`` with ``key``."""
    try:
        signature = base64.b64decode(signature_text.strip(), validate=True)
        key.verify(signature, content)
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


def create_key_pair(directory: Path) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair into ``directory``: the private key readable by its
    owner only (mode 0600), the public key beside it. Existing files are never replaced.

    Returns the paths of the private and the public key.
    """
    private_path, public_path = directory / PRIVATE_KEY_FILE, directory / PUBLIC_KEY_FILE
    taken = [p for p in (private_path, public_path) if p.exists() or p.is_symlink()]
    if taken:
        raise AuditError(
            f"{taken[0]} already exists; it may be a key in use. Choose another --out."
        )
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # Created with mode 0600 from the start: the secret is never readable by others.
        handle = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "wb") as file:
            file.write(private_pem)
        with public_path.open("xb") as file:
            file.write(public_pem)
    except OSError as exc:
        private_path.unlink(missing_ok=True)
        raise AuditError(
            f"Cannot write the key pair in {directory}: {exc.strerror or exc}."
        ) from None
    return private_path, public_path

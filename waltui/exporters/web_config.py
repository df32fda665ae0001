"""`--web-config-file`: TLS and basic auth in the format of Prometheus's exporter-toolkit,
the file node_exporter and the other official exporters read (its docs/web-configuration.md),
so an operator reuses the one they have. Read once at start.

Supported: tls_server_config (cert_file/key_file or inline cert/key, client_ca_file or
client_ca, client_auth_type NoClientCert, VerifyClientCertIfGiven or
RequireAndVerifyClientCert, client_allowed_sans, min_version, max_version),
http_server_config.headers, basic_auth_users (bcrypt hashes). Said and not applied:
cipher_suites, curve_preferences, prefer_server_cipher_suites, http2, rate_limit. Any other
key is a mistake, named in one line.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import ssl
import stat
import tempfile
from dataclasses import dataclass, field
from typing import Any

from waltui.support.small_files import read_small
from waltui.units import visible

TOP_KEYS = {"tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"}
TLS_KEYS = {"cert", "key", "client_ca", "cert_file", "key_file", "client_auth_type",
            "client_ca_file", "client_allowed_sans", "min_version", "max_version",
            "cipher_suites", "prefer_server_cipher_suites", "curve_preferences"}
IGNORED_TLS = {"cipher_suites", "prefer_server_cipher_suites", "curve_preferences"}
HEADERS = {"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options",
           "X-XSS-Protection", "Strict-Transport-Security"}
VERSIONS = {"TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1,
            "TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
CLIENT_AUTH = {"NoClientCert": ssl.CERT_NONE, "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
               "RequireAndVerifyClientCert": ssl.CERT_REQUIRED}


class WebConfigError(Exception):
    """One line: the file, the key, what is accepted."""


@dataclass
class Authentication:
    """What a request must present: a bearer token, a user:password (plain, from
    --basic-auth-file), or a user whose bcrypt hash matches (basic_auth_users). A bcrypt
    check costs ~70 ms at cost 10, so a password that passed is remembered (by its
    SHA-256), as the exporter-toolkit does."""

    bearer: str | None = None
    basic: str | None = None
    users: dict[str, bytes] = field(default_factory=dict)
    _passed: set[tuple[str, bytes]] = field(default_factory=set)

    @property
    def required(self) -> bool:
        return self.bearer is not None or self.basic is not None or bool(self.users)

    @property
    def challenge(self) -> str:
        return "Bearer" if self.bearer is not None and not self.users and self.basic is None \
            else 'Basic realm="waltui"'

    async def accept(self, header: str) -> bool:
        if not self.required:
            return True
        scheme, _, value = header.partition(" ")
        if self.bearer is not None and scheme.lower() == "bearer":
            return hmac.compare_digest(value.strip().encode(), self.bearer.encode())
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(value.strip(), validate=True)
        except (ValueError, binascii.Error):
            return False
        if self.basic is not None and hmac.compare_digest(given, self.basic.encode()):
            return True
        user, sep, password = given.partition(b":")
        hashed = self.users.get(user.decode("utf-8", "replace")) if sep else None
        if hashed is None:
            return False
        key = (user.decode("utf-8", "replace"), hashlib.sha256(password).digest())
        if key in self._passed:
            return True
        import bcrypt  # a compiled extension: loaded by the first password to check

        ok = await asyncio.get_running_loop().run_in_executor(
            None, bcrypt.checkpw, password, hashed)
        if ok:
            self._passed.add(key)
        return bool(ok)


@dataclass(frozen=True)
class WebConfig:
    context: ssl.SSLContext | None
    users: dict[str, bytes]
    headers: dict[str, str]
    allowed_sans: frozenset[str]
    warnings: tuple[str, ...]


def load(path: str) -> WebConfig:
    import yaml

    try:
        data = yaml.safe_load(read_small(path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise WebConfigError(f"{visible(path)}: not a readable web config: "
                             f"{visible(str(exc).splitlines()[0] if str(exc) else exc)}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise WebConfigError(f"{visible(path)}: a web config is a YAML mapping")
    _known(path, "", data, TOP_KEYS)
    warnings = []
    if "rate_limit" in data:
        warnings.append("rate_limit is not applied by waltui (each scrape only renders)")
    tls = _mapping(path, "tls_server_config", data.get("tls_server_config"))
    http = _mapping(path, "http_server_config", data.get("http_server_config"))
    _known(path, "http_server_config.", http, {"http2", "headers"})
    headers = _mapping(path, "http_server_config.headers", http.get("headers"))
    _known(path, "http_server_config.headers.", headers, HEADERS)
    if "http2" in http:
        warnings.append("http_server_config.http2 is not applied (waltui serves HTTP/1.1)")
    context, sans = (_tls(path, tls, warnings) if tls else (None, frozenset()))
    users = {}
    for user, hashed in _mapping(path, "basic_auth_users", data.get("basic_auth_users")).items():
        if not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise WebConfigError(f"{visible(path)}: basic_auth_users.{visible(str(user))}: "
                                 "a bcrypt hash ($2y$...) is expected (htpasswd -nBC 10 \"\")")
        users[str(user)] = hashed.encode()
    return WebConfig(context, users, {str(k): str(v) for k, v in headers.items() if v},
                     sans, tuple(warnings))


def _mapping(path: str, key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WebConfigError(f"{visible(path)}: {key} must be a mapping")
    return value


def _known(path: str, prefix: str, data: dict[str, Any], keys: set[str]) -> None:
    for key in data:
        if key not in keys:
            raise WebConfigError(f"{visible(path)}: unknown key {prefix}{visible(str(key))}; "
                                 f"known: {', '.join(sorted(keys))}")


def _tls(path: str, tls: dict[str, Any], warnings: list[str]
         ) -> tuple[ssl.SSLContext, frozenset[str]]:
    _known(path, "tls_server_config.", tls, TLS_KEYS)
    here = os.path.dirname(os.path.abspath(path))
    for ignored in sorted(IGNORED_TLS & set(tls)):
        warnings.append(f"tls_server_config.{ignored} is not applied (Python's OpenSSL "
                        "defaults)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    for bound, attribute in (("min_version", "minimum_version"), ("max_version",
                                                                   "maximum_version")):
        if bound in tls:
            if tls[bound] not in VERSIONS:
                raise WebConfigError(f"{visible(path)}: tls_server_config.{bound}: one of "
                                     f"{', '.join(VERSIONS)}")
            setattr(context, attribute, VERSIONS[tls[bound]])
    cert, key = _pem(path, here, tls, "cert"), _pem(path, here, tls, "key")
    if cert is None or key is None:
        raise WebConfigError(f"{visible(path)}: tls_server_config needs cert_file and key_file "
                             "(or cert and key)")
    with tempfile.TemporaryDirectory(prefix="waltui-tls-") as private:
        files = []
        for name, pem in (("cert.pem", cert), ("key.pem", key)):
            target = os.path.join(private, name)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
            files.append(target)
        try:
            context.load_cert_chain(files[0], files[1])
        except (ssl.SSLError, OSError) as exc:
            raise WebConfigError(f"{visible(path)}: the certificate or key cannot be used: "
                                 f"{visible(exc)}") from exc
    auth = tls.get("client_auth_type", "NoClientCert")
    if auth not in CLIENT_AUTH:
        raise WebConfigError(f"{visible(path)}: tls_server_config.client_auth_type: one of "
                             f"{', '.join(CLIENT_AUTH)} (the others are not safe)")
    context.verify_mode = CLIENT_AUTH[auth]
    ca = _pem(path, here, tls, "client_ca")
    if auth != "NoClientCert":
        if ca is None:
            raise WebConfigError(f"{visible(path)}: client_auth_type {auth} needs "
                                 "client_ca_file")
        context.load_verify_locations(cadata=ca.decode("ascii", "replace"))
    sans = tls.get("client_allowed_sans") or []
    if sans and auth != "RequireAndVerifyClientCert":
        raise WebConfigError(f"{visible(path)}: client_allowed_sans needs client_auth_type "
                             "RequireAndVerifyClientCert")
    return context, frozenset(str(s) for s in sans)


def _pem(path: str, here: str, tls: dict[str, Any], name: str) -> bytes | None:
    """Inline (cert: ...) or from a file relative to the web config (cert_file: ...)."""
    inline, file = tls.get(name), tls.get(f"{name}_file")
    if inline is not None and file is not None:
        raise WebConfigError(f"{visible(path)}: give tls_server_config.{name} or {name}_file, "
                             "not both")
    if inline is not None:
        return str(inline).encode()
    if file is None:
        return None
    target = os.path.join(here, str(file))
    try:
        if not stat.S_ISREG(os.stat(target).st_mode):
            raise OSError(f"{target} is not a regular file")
        return read_small(target)
    except OSError as exc:
        raise WebConfigError(f"{visible(path)}: tls_server_config.{name}_file: "
                             f"{visible(exc)}") from exc


def peer_allowed(peercert: dict[str, Any] | None, allowed: frozenset[str]) -> bool:
    """client_allowed_sans: the client certificate names one of them."""
    if not allowed:
        return True
    names = {str(value) for _kind, value in (peercert or {}).get("subjectAltName", ())}
    return bool(names & allowed)

"""Checking ``Authorization: Basic`` credentials against a user table.

Passwords may be given in plain text or as werkzeug hashes (``scrypt:...``,
``pbkdf2:...``). Comparisons are constant-time; a verified header is
remembered (by its SHA-256, in a bounded table) so a slow hash is computed
once per credential, not once per request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, MutableMapping

from werkzeug.security import check_password_hash, generate_password_hash

log = logging.getLogger("dash_auth.basic")

#: Prefixes of the werkzeug hash formats recognised in a user table.
HASH_PREFIXES = ("scrypt:", "pbkdf2:")
MAX_HEADER_LENGTH = 8192
CACHE_SIZE = 1024

AuthFunc = Callable[[str, str], bool]


class MalformedCredentials(ValueError):
    """The header is not a usable ``Basic`` credential."""


def nfc(text: str) -> str:
    """Unicode NFC form, so composed and decomposed spellings of a name match."""
    return unicodedata.normalize("NFC", text)


def decode_header(header: str) -> str:
    """The decoded ``user:password`` text of a Basic ``Authorization`` header.

    Browsers send UTF-8 (RFC 7617); older ones Latin-1, accepted as a fallback.
    """
    if not isinstance(header, str) or len(header) > MAX_HEADER_LENGTH:
        raise MalformedCredentials("missing or oversized header")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        raise MalformedCredentials("not a Basic credential")
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedCredentials("credential is not base64") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if ":" not in text:
        raise MalformedCredentials("credential has no ':'")
    return text


def is_hashed(password: str) -> bool:
    return password.startswith(HASH_PREFIXES) and "$" in password


class UserTable:
    """Usernames and passwords (plain or hashed) with cached verification.

    A dict (any mutable mapping) is read live: a user the app removes from it
    (or whose password it changes) fails from the next check on, and a user it
    adds can sign in. A list of pairs is copied.
    """

    def __init__(self, users: Mapping[str, str] | Iterable[Iterable[str]]) -> None:
        #: The app's own mapping, read on every check (``None``: a fixed table).
        self.live: MutableMapping[str, str] | None = users if isinstance(users, MutableMapping) else None
        pairs = users.items() if isinstance(users, Mapping) else users
        table: dict[str, str] = {}
        for pair in pairs:
            try:
                username, password = pair
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    "username_password_list must be a dict or a list of [username, password] pairs"
                ) from exc
            if not isinstance(username, str) or not isinstance(password, str):
                raise ValueError("usernames and passwords must be strings")
            if not username:
                raise ValueError("usernames must not be empty")
            if not password:
                # Anyone who knows the name would get in with nothing typed.
                raise ValueError(f"the user {username!r} has an empty password; give every user a password")
            table[nfc(username)] = password if is_hashed(password) else nfc(password)
        self._users = table
        # Unknown usernames are checked against this hash (made with the table's
        # own method), so a slow hash does not tell which usernames exist.
        method = next((p.split("$", 1)[0] for p in table.values() if is_hashed(p)), None)
        self._decoy = generate_password_hash(secrets.token_urlsafe(16), method=method) if method else None
        self._cache: OrderedDict[bytes, tuple[str, object]] = OrderedDict()
        self._lock = threading.Lock()
        # NFC name -> the live mapping's own key, for keys written in another normal form.
        self._keys: dict[str, str] = {}
        self._indexed = -1
        self._reindex()

    def _reindex(self) -> None:
        live = self.live
        if live is not None:
            self._keys = {nfc(k): k for k in list(live) if isinstance(k, str) and nfc(k) != k}
            self._indexed = len(live)

    def key(self, username: str) -> str:
        """The key ``username`` (NFC) has in the live mapping (itself, unless written in another form)."""
        return self._keys.get(username, username)

    def raw(self, username: str) -> object:
        """What the table holds for ``username`` (NFC) right now, as given (``None`` if nobody)."""
        live = self.live
        if live is None:
            return self._users.get(username)
        value = live.get(self._keys.get(username, username))
        if value is None and len(live) != self._indexed:
            self._reindex()
            value = live.get(self._keys.get(username, username))
        return value

    def _stored(self, username: str) -> str | None:
        """``username``'s password (NFC unless hashed), from the live mapping when there is one."""
        if self.live is None:
            return self._users.get(username)
        value = self.raw(username)
        if not isinstance(value, str):
            return None
        return value if is_hashed(value) else nfc(value)

    def __contains__(self, username: object) -> bool:
        return isinstance(username, str) and self._stored(nfc(username)) is not None

    def __len__(self) -> int:
        return len(self.live) if self.live is not None else len(self._users)

    def check_password(self, username: str, password: str) -> bool:
        """Constant-time check of one username/password pair.

        Names and plain passwords are compared in Unicode NFC form. A hash was
        made from whatever form its author typed, so the password is tried as
        sent and in its NFC and NFD forms.
        """
        stored = self._stored(nfc(username))
        if stored is None:
            # Spend the same time on unknown users, so timing does not reveal them.
            if self._decoy is not None:
                _check_hashed(self._decoy, password)
            else:
                hmac.compare_digest(password.encode(), password.encode())
            return False
        if is_hashed(stored):
            return _check_hashed(stored, password)
        if self._decoy is not None:
            # A table that mixes plain and hashed passwords: plain ones take as
            # long as a hash too, or their fast answers would name them.
            _check_hashed(self._decoy, password)
        return hmac.compare_digest(stored.encode(), nfc(password).encode())

    def verify(self, header: str) -> str | None:
        """The username a Basic header proves, or ``None``."""
        digest = hashlib.sha256(header.encode("utf-8", "surrogatepass")).digest()
        cached = self._cache.get(digest)
        if cached is not None and self.raw(cached[0]) is cached[1]:
            return cached[0]  # verified before, and the table still holds the same password
        text = decode_header(header)
        username = self._verify_text(text)
        if username is not None:
            with self._lock:
                self._cache[digest] = (username, self.raw(username))
                self._cache.move_to_end(digest)
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return username

    def _verify_text(self, text: str) -> str | None:
        # RFC 7617 splits at the first ':'; usernames that contain ':' are
        # tried at later colons, but only when such a user exists.
        start = 0
        while True:
            index = text.find(":", start)
            if index < 0:
                return None
            username, password = nfc(text[:index]), text[index + 1 :]
            if (start == 0 or self._stored(username) is not None) and self.check_password(username, password):
                return username
            start = index + 1


def _check_hashed(stored: str, password: str) -> bool:
    """``password`` as sent, in NFC and in NFD form against a werkzeug hash (each form checked once)."""
    forms = dict.fromkeys((password, nfc(password), unicodedata.normalize("NFD", password)))
    return any([check_password_hash(stored, form) for form in forms])


def verify_with_function(auth_func: AuthFunc, header: str) -> str | None:
    """Check a Basic header with a user function ``auth_func(username, password)``."""
    text = decode_header(header)
    username, _, password = text.partition(":")
    return username if call_auth_func(auth_func, username, password) else None


def call_auth_func(auth_func: AuthFunc, username: str, password: str) -> bool:
    """``auth_func(username, password) is True``; an exception counts as a refusal."""
    try:
        return auth_func(username, password) is True
    except Exception:
        log.exception("the auth_func raised; the login is refused")
        return False

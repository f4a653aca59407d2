"""The one client of OpenAI-compatible chat-completions endpoints (OpenAI, Ollama, vLLM, llama.cpp server...),
shared by the LLM planner (:mod:`promv5_lab.nl.llm`) and the vision classifier (:mod:`promv5_lab.vision.endpoint`).

Wire format: ``POST {base_url}/chat/completions`` with a JSON body ``{"model", "messages", ...}`` and, when a key
is set, ``Authorization: Bearer <key>``; the answer is in ``choices[0].message.content``.

What can go wrong is translated here, once, into the package's error tree:

* the endpoint itself failed (``raise ... from`` the requests exception), a :class:`~promv5_lab.errors.BackendError`:
  :class:`~promv5_lab.errors.BackendUnavailable` for a timeout or a refused/broken connection,
  :class:`~promv5_lab.errors.AuthError` for 401/403, ``BackendError`` for any other HTTP error status;
* the endpoint answered, but not with something usable, an :class:`~promv5_lab.errors.InputError`: a body that
  is not a chat-completions JSON object, a body over ``max_response_bytes``, message content that is not text or
  not JSON (:func:`extract_json`).

Callers tell the two apart (the vision classifier stops sending panels after a transport failure, and keeps
asking after a bad answer). There are no retries: both callers fall back to a local model instead. The API key
is a ``SecretStr``: it is in no repr, message, hint or log line, and it is redacted from any text the server
sends back (an echoing server cannot leak it); URLs are shown without their ``user:password@`` part.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from .errors import AuthError, BackendError, BackendUnavailable, ConfigError, InputError

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import SecretStr

__all__ = ["ChatClient", "ChatEndpoint", "extract_json"]

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 1_000_000
REDACTED = "**********"
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


@dataclass(frozen=True)
class ChatEndpoint:
    """Where chat-completions requests go: a base URL (``.../v1``), a model name, an optional key, a timeout.

    The timeout is per network operation (connect, and each wait for bytes of the answer), as in requests.
    A ``user:password@`` in the URL is sent as basic auth when there is no key (the key wins, as a bearer token).
    """

    url: str = field(repr=False)  # may hold user:password; __repr__ shows display_url
    model: str
    api_key: SecretStr | None = field(default=None, repr=False)
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        parts = urlsplit(str(self.url))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"The endpoint URL must be http(s)://host[:port]/..., got {_strip_userinfo(self.url)!r}",
                              hint="e.g. http://localhost:11434/v1 (Ollama) or https://api.openai.com/v1")
        if not str(self.model or "").strip():
            raise ConfigError("The endpoint needs a model name", hint="e.g. gpt-4o-mini, llama3.1, llava")
        if not self.timeout_s or self.timeout_s <= 0:
            raise ConfigError(f"The endpoint timeout must be a positive number of seconds, got {self.timeout_s!r}")

    def __repr__(self) -> str:  # subclasses: @dataclass(frozen=True, repr=False) keeps this one
        return f"{type(self).__name__}(url={self.display_url!r}, model={self.model!r}, timeout_s={self.timeout_s!r})"

    @property
    def display_url(self) -> str:
        """The URL without any user:password part (safe to print)."""
        return _strip_userinfo(self.url)

    def describe(self) -> str:
        return f"{self.model} at {self.display_url}"

    def secret(self) -> str:
        """The key in clear ("" without one): for the Authorization header only."""
        return self.api_key.get_secret_value() if self.api_key is not None else ""


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: show none
        port = None
    if port:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def extract_json(content: Any) -> Any:
    """The JSON value in a model's message content (a ```json fence around it is allowed); InputError if none."""
    if not isinstance(content, str):
        raise InputError("the message content is not text")
    text = _FENCE.sub("", content.strip())
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(f"not JSON: {text[:60]!r}") from exc


class ChatClient:
    """Send chat-completions requests to one :class:`ChatEndpoint` and return the message content.

    ``what`` names the endpoint in messages ("the LLM endpoint"); ``timeout_setting`` names the setting that
    changes the timeout (shown in a timeout's message). A client holds one ``requests.Session``: ``close()`` it
    (or ``with contextlib.closing(client)``).
    """

    def __init__(self, endpoint: ChatEndpoint, *, what: str = "the endpoint", timeout_setting: str | None = None,
                 max_response_bytes: int = MAX_RESPONSE_BYTES) -> None:
        import requests

        self.endpoint = endpoint
        self.what = what
        self.timeout_setting = timeout_setting
        self.max_response_bytes = max_response_bytes
        self.url = endpoint.display_url.rstrip("/") + "/chat/completions"
        self._requests = requests
        self.session = requests.Session()
        parts = urlsplit(endpoint.url)
        if endpoint.secret():
            self.session.headers["Authorization"] = f"Bearer {endpoint.secret()}"
        elif parts.username is not None:
            self.session.auth = (unquote(parts.username), unquote(parts.password or ""))

    def __repr__(self) -> str:  # never the key
        return f"ChatClient({self.endpoint.describe()!r})"

    def close(self) -> None:
        self.session.close()

    def body(self, messages: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
        """A request body: the model, temperature 0, a JSON-object answer asked for, then ``options``."""
        return {"model": self.endpoint.model, "temperature": 0, "response_format": {"type": "json_object"},
                **options, "messages": messages}

    def complete(self, body: dict[str, Any]) -> Any:
        """POST ``body`` and return ``choices[0].message.content`` (as sent: usually text, maybe null).

        Raises a :class:`BackendError` subclass when the endpoint failed, an :class:`InputError` when it
        answered something that is not a chat completion.
        """
        raw = self._post(body)
        try:
            payload = json.loads(raw)
        except ValueError as exc:
            raise InputError(f"{self.what} did not answer JSON (not a chat-completions response): "
                             f"{self.redact(raw.decode('utf-8', 'replace'))[:60]!r}") from exc  # redact, then cut
        try:
            return payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise InputError(f"{self.what} answered JSON without choices[0].message.content "
                             "(not a chat-completions response)") from exc

    def complete_json(self, body: dict[str, Any]) -> Any:
        """:meth:`complete`, then the JSON value in the content (:func:`extract_json`)."""
        return extract_json(self.complete(body))

    def redact(self, text: str) -> str:
        """``text`` without the key (and without the URL's password, if it has one)."""
        out = str(text)
        key = self.endpoint.secret()
        if key:
            out = out.replace(key, REDACTED)
        password = urlsplit(self.endpoint.url).password
        for secret in {password, unquote(password)} if password else ():
            out = out.replace(secret, REDACTED)
        return out

    def _post(self, body: dict[str, Any]) -> bytes:
        req = self._requests
        where = self.endpoint.display_url
        try:
            resp = self.session.post(self.url, json=body, timeout=self.endpoint.timeout_s, stream=True)
            try:
                if resp.status_code >= 400:
                    raise self._status_error(resp)
                raw = bytearray()
                for chunk in resp.iter_content(65536):
                    raw += chunk
                    if len(raw) > self.max_response_bytes:
                        raise InputError(f"{self.what} sent an answer over {self.max_response_bytes:,} bytes")
            finally:
                resp.close()
        except (req.exceptions.Timeout, req.exceptions.ConnectionError) as exc:
            # "from None": the requests exception's text carries the full URL, with any user:password in it
            if _is_timeout(exc, req):
                setting = f" ({self.timeout_setting})" if self.timeout_setting else ""
                raise BackendUnavailable(f"no answer within {self.endpoint.timeout_s:g} s{setting} from {self.what}",
                                         url=where, hint="A slow model may need a longer timeout") from None
            raise BackendUnavailable(f"cannot reach {self.what} ({type(exc).__name__})", url=where,
                                     hint=f"Is the server at {where} running?") from None
        except req.exceptions.RequestException as exc:
            raise BackendError(f"cannot talk to {self.what} ({type(exc).__name__})", url=where) from None
        return bytes(raw)

    def _status_error(self, resp: Any) -> BackendError:
        """An HTTP error status as a BackendError, with the server's own error message (redacted, short)."""
        status = int(resp.status_code)
        detail = ""
        try:
            data = json.loads(resp.raw.read(4096, decode_content=True) or b"null")
            err = data.get("error") if isinstance(data, dict) else None
            msg = err.get("message") if isinstance(err, dict) else err
            if isinstance(msg, str) and msg.strip():
                detail = ": " + " ".join(self.redact(msg).split())[:120]
        except Exception as exc:  # noqa: BLE001 - the status alone is the error; its body is a courtesy
            log.debug("no error message in the HTTP %s body (%s)", status, type(exc).__name__)
        message = f"HTTP {status} from {self.what}{detail}"
        where = self.endpoint.display_url
        if status in (401, 403):
            return AuthError(message, url=where, status=status, hint="Check the API key for this endpoint")
        return BackendError(message, url=where)


def _is_timeout(exc: BaseException, req: Any) -> bool:
    """requests raises Timeout for connect/read timeouts before the headers, but ConnectionError wrapping
    urllib3's ReadTimeoutError for a timeout while streaming the body."""
    if isinstance(exc, req.exceptions.Timeout):
        return True
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if "Timeout" in type(cur).__name__:
            return True
        args = [a for a in getattr(cur, "args", ()) if isinstance(a, BaseException)]
        cur = args[0] if args else (cur.__cause__ or cur.__context__)
    return False

"""API keys: read from the environment or a config file, kept out of reprs, logs, run files and tracebacks.

Masking has one vocabulary, used for everything we write or print:

* `is_secret_name(name)`: option, header, argument and environment names that hold secrets (`api_key`,
  `X-Api-Key`, `Authorization`, `HF_TOKEN`, `db_password`, ...);
* `redact(text)`: every secret value we know of (given, remembered with `remember_secret`, or held by a
  secret-named environment variable), credentials in URLs (`http://user:pw@host` -> `http://***@host`) and
  `name=value` / `name: value` pairs with a secret name, replaced by `***`;
* `redact_data(data)` for JSON-like data and `redact_argv(argv)` for a command line.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pydantic import SecretStr

from oversight.models.base import ModelConfigError

MASK = "***"

#: names whose values are secrets. Anchored on both ends: `max_tokens` or `tokenizer` are not secrets.
_SECRET_NAME = re.compile(
    r"^(?:.*[_-])?(?:api[_-]?key|apikey|access[_-]?key|private[_-]?key|subscription[_-]?key|auth|authorization"
    r"|token|credentials?|cookie|session[_-]?id)$"
    r"|.*(?:secret|passw(?:or)?d|passphrase).*",
    re.IGNORECASE,
)
#: `user:password@` (or `token@`) right after a URL scheme
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"<>]+@")
_URL_USERINFO = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://([^/\s@'\"<>]+)@")
#: `name=value`, `name: value`, `"name": "value"` with a secret-like name, in free text (error bodies, argv)
_NAMED_VALUE = re.compile(
    r"""(?ix)
    (?P<name>["']?[\w-]*(?:api[_-]?key|apikey|access[_-]?key|private[_-]?key|authorization|password|passwd|secret
        |token|credential)s?["']?)
    (?P<sep>\s*[:=]\s*)
    (?P<quote>["']?)
    (?P<scheme>(?:bearer|basic)\s+)?
    (?P<value>[^\s"',;&}]+)
    """
)
#: secret values the process has seen (spec options, config-file keys): masked wherever `redact` runs
_REMEMBERED: set[str] = set()
_MIN_SECRET = 6  # shorter values would mask ordinary words


def is_secret_name(name: object) -> bool:
    """True for option, header, argument and variable names that hold secrets (`api_key`, `X-Api-Key`, ...)."""
    return bool(_SECRET_NAME.match(str(name).strip().lstrip("-")))


def remember_secret(value: SecretStr | str | None) -> None:
    """Mask `value` in everything `redact` sees from now on (for keys that are in no environment variable)."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str) and len(value) >= _MIN_SECRET:
        _REMEMBERED.add(value)


def remember_secrets_in(data: Any) -> None:
    """`remember_secret` every value of a secret-named key in JSON-like `data` (provider options, headers), and the
    credentials of every URL in it: the password, and `user:password` in base64 as HTTP clients send it (an
    `Authorization: Basic ...` header a server may echo)."""
    if isinstance(data, dict):
        for k, v in data.items():
            if is_secret_name(k) and isinstance(v, str | SecretStr):
                remember_secret(v)
            else:
                remember_secrets_in(v)
    elif isinstance(data, list | tuple):
        for v in data:
            remember_secrets_in(v)
    elif isinstance(data, str) and "@" in data:
        for m in _URL_USERINFO.finditer(data):
            userinfo = unquote(m.group(1))
            remember_secret(userinfo.partition(":")[2] or userinfo)
            remember_secret(base64.b64encode(userinfo.encode()).decode())


def config_path() -> Path:
    """`$OVERSIGHT_CONFIG`, else `~/.config/oversight/config.toml` (a `[keys]` table: `openai = "sk-..."`)."""
    return Path(os.environ.get("OVERSIGHT_CONFIG") or Path.home() / ".config" / "oversight" / "config.toml")


def resolve_api_key(provider: str, env_var: str, explicit: str | SecretStr | None = None) -> SecretStr:
    """The key for `provider`: explicit value, else `$env_var`, else `[keys].<provider>` in the config file.

    The key is remembered for masking (`redact`). Raises `ModelConfigError` naming where it looked (never the
    key) when none is set.
    """
    if isinstance(explicit, SecretStr):
        remember_secret(explicit)
        return explicit
    if explicit:
        remember_secret(explicit)
        return SecretStr(explicit)
    value = os.environ.get(env_var)
    if value:
        return SecretStr(value)
    path = config_path()
    if path.is_file():
        try:
            keys = tomllib.loads(path.read_text()).get("keys", {})
        except tomllib.TOMLDecodeError as err:
            raise ModelConfigError(f"{path}: not valid TOML ({err})") from None
        if keys.get(provider):
            remember_secret(str(keys[provider]))
            return SecretStr(str(keys[provider]))
    raise ModelConfigError(
        f'no API key for {provider}: set ${env_var} or add `{provider} = "..."` under [keys] in {path}'
    )


def _known_values(extra: Iterable[SecretStr | str | None]) -> list[str]:
    values = [s.get_secret_value() if isinstance(s, SecretStr) else s for s in extra]
    values += [v for k, v in os.environ.items() if is_secret_name(k)]
    values += _REMEMBERED
    # Longest first, so a key that contains another is masked whole.
    return sorted({v for v in values if v and len(v) >= _MIN_SECRET}, key=len, reverse=True)


def redact(text: str, *secrets: SecretStr | str | None) -> str:
    """`text` with secrets replaced by `***`: the given ones, remembered ones, values of secret-named environment
    variables, URL credentials (`scheme://user:pw@`) and the values of `name=value` pairs with a secret name."""
    for v in _known_values(secrets):
        if v in text:
            text = text.replace(v, MASK)
    if "@" in text:
        text = _URL_CREDENTIALS.sub(lambda m: m.group(1) + MASK + "@", text)
    if "=" in text or ":" in text:
        text = _NAMED_VALUE.sub(_mask_named, text)
    return text


def _mask_named(m: re.Match[str]) -> str:
    value = m.group("value")
    if value == MASK or value.startswith("//") or not is_secret_name(m.group("name").strip("\"'")):
        return m.group(0)  # already masked, a URL's "://", or a name such as `max_tokens`
    return m.group("name") + m.group("sep") + m.group("quote") + (m.group("scheme") or "") + MASK


def redact_data(data: Any) -> Any:
    """JSON-like `data` with every secret-named key's value replaced by `***` and every string `redact`ed (keys
    included: a URL used as a key may hold credentials)."""
    if isinstance(data, dict):
        return {
            redact(str(k)) if isinstance(k, str) else k: MASK if v and is_secret_name(k) else redact_data(v)
            for k, v in data.items()
        }
    if isinstance(data, list | tuple):
        return [redact_data(v) for v in data]
    if isinstance(data, str):
        return redact(data)
    return data


def redact_argv(argv: Iterable[str]) -> list[str]:
    """A command line with secrets masked: the value after a secret-named flag (`--api-key KEY`), secret-named
    `name=value` arguments (`-o api_key=KEY`, `--token=KEY`), secrets inside JSON values
    (`-o 'extra_headers={"x-api-key": "KEY"}'`), and whatever `redact` finds."""
    out: list[str] = []
    mask_next = False
    for arg in argv:
        arg = str(arg)
        if mask_next:
            out.append(MASK)
            mask_next = False
            continue
        if arg.startswith("-") and "=" not in arg and is_secret_name(arg):
            mask_next = True
            out.append(arg)
            continue
        name, sep, value = arg.partition("=")
        if sep and is_secret_name(name):
            out.append(f"{name}={MASK}")
            continue
        if sep and value[:1] in "{[":
            try:
                parsed = json.loads(value)
            except ValueError:
                pass
            else:
                out.append(f"{name}={json.dumps(redact_data(parsed))}")
                continue
        out.append(redact(arg))
    return out

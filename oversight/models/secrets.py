"""API keys: read from the environment or a config file, kept out of reprs, logs, run files and tracebacks."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import SecretStr

from oversight.models.base import ModelConfigError


def config_path() -> Path:
    """`$OVERSIGHT_CONFIG`, else `~/.config/oversight/config.toml` (a `[keys]` table: `openai = "sk-..."`)."""
    return Path(os.environ.get("OVERSIGHT_CONFIG") or Path.home() / ".config" / "oversight" / "config.toml")


def resolve_api_key(provider: str, env_var: str, explicit: str | SecretStr | None = None) -> SecretStr:
    """The key for `provider`: explicit value, else `$env_var`, else `[keys].<provider>` in the config file.

    Raises `ModelConfigError` naming where it looked (never the key) when none is set.
    """
    if isinstance(explicit, SecretStr):
        return explicit
    if explicit:
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
            return SecretStr(str(keys[provider]))
    raise ModelConfigError(
        f'no API key for {provider}: set ${env_var} or add `{provider} = "..."` under [keys] in {path}'
    )


def redact(text: str, *secrets: SecretStr | str | None) -> str:
    """`text` with every given secret (and any key read from the usual env vars) replaced by `***`."""
    values = [s.get_secret_value() if isinstance(s, SecretStr) else s for s in secrets]
    values += [os.environ.get(v) for v in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "VLLM_API_KEY")]
    for v in values:
        if v and len(v) >= 6:
            text = text.replace(v, "***")
    return text

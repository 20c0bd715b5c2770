"""`oversight models check MODEL`: one short real completion, with latency, speed and logprob support."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from oversight.cli.errors import CLIError


def register(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser("models", help="inspect and check model backends")
    sub = models.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    check = sub.add_parser("check", help="send one short prompt to MODEL and report what came back")
    check.add_argument("model", help="a model string, e.g. local/smollm2-135m, openai/gpt-4o-mini, vllm/NAME")
    check.add_argument("--prompt", default="Name three primary colours.", help="the user message to send")
    check.add_argument("--max-tokens", type=int, default=32)
    check.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="provider option, e.g. -o base_url=http://127.0.0.1:8000/v1 (VALUE parsed as JSON when it can be)",
    )
    check.set_defaults(func=run_check)
    models.set_defaults(func=lambda args: models.print_help() or 2)


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """`["a=1", "b=x"]` -> `{"a": 1, "b": "x"}`; raises CLIError naming a malformed pair."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise CLIError(f"--option {pair!r}: expected KEY=VALUE", exit_code=2)
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def run_check(args: argparse.Namespace) -> int:
    """Print a short completion, latency, tokens/s and whether per-token logprobs came back."""
    from oversight.models import ModelError, get_model
    from oversight.types import ChatMessage, GenerateConfig

    options = parse_options(args.option)

    async def check() -> int:
        try:
            model = get_model(args.model, **options)
        except ModelError as err:
            raise CLIError(str(err), exit_code=2) from None
        try:
            out = await model.generate(
                [ChatMessage(role="user", content=args.prompt)],
                GenerateConfig(max_tokens=args.max_tokens, temperature=0.0, logprobs=True, top_logprobs=5),
            )
        except ModelError as err:
            raise CLIError(str(err)) from None
        finally:
            await model.aclose()
        speed = out.usage.output_tokens / out.latency if out.latency > 0 else float("nan")
        has_lp = bool(out.logprobs) and any(t.top for t in out.logprobs or [])
        print(f"model:       {model.name}")
        print(f"prompt:      {args.prompt}")
        print(f"completion:  {out.text.strip()!r}")
        print(f"finish:      {out.finish_reason}")
        print(f"latency:     {out.latency:.3f} s")
        print(f"tokens:      {out.usage.input_tokens} in, {out.usage.output_tokens} out ({speed:.1f} tok/s)")
        print(
            f"logprobs:    {'yes' if has_lp else 'no'}" + (f" ({len(out.logprobs or [])} positions)" if has_lp else "")
        )
        return 0

    return asyncio.run(check())

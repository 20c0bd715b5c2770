"""Usage and cost accounting per (model, role), with an overridable price table."""

from __future__ import annotations

from dataclasses import dataclass, field

from oversight.types import ModelOutput

#: USD per million (input, output) tokens. Local, scripted and self-hosted models cost nothing by default.
#: Prices change: override with `PriceTable({...})` or `UsageLedger(prices=...)` for your run.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "openai/gpt-4o": (2.50, 10.00),
    "openai/gpt-4o-mini": (0.15, 0.60),
    "openai/gpt-4.1": (2.00, 8.00),
    "openai/gpt-4.1-mini": (0.40, 1.60),
    "openai/gpt-4.1-nano": (0.10, 0.40),
    "anthropic/claude-3-5-haiku-latest": (0.80, 4.00),
    "anthropic/claude-3-5-sonnet-latest": (3.00, 15.00),
    "anthropic/claude-sonnet-4-0": (3.00, 15.00),
    "anthropic/claude-opus-4-0": (15.00, 75.00),
}


class PriceTable:
    """Maps a model name to USD per million input and output tokens; unknown models cost 0 (and are listed)."""

    def __init__(self, prices: dict[str, tuple[float, float]] | None = None, *, defaults: bool = True) -> None:
        self.prices = dict(DEFAULT_PRICES) if defaults else {}
        self.prices.update(prices or {})
        self.unpriced: set[str] = set()

    def cost(self, model: str, input_tokens: int, output_tokens: int, *, free: bool = False) -> float:
        """USD for the tokens; 0 for a model without a price, listed in `unpriced` unless its provider declares
        itself `free` (`Provider.free`: local, scripted, self-hosted)."""
        price = self.prices.get(model)
        if price is None:
            if not free:
                self.unpriced.add(model)
            return 0.0
        return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000


@dataclass
class UsageRecord:
    """Totals of the calls one role made to one model."""

    calls: int = 0
    cached_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    latency: float = field(default=0.0, repr=False)


class UsageLedger:
    """Accumulates usage per (model, role). Cached calls are counted but cost nothing and add no tokens."""

    def __init__(self, prices: PriceTable | dict[str, tuple[float, float]] | None = None) -> None:
        self.prices = prices if isinstance(prices, PriceTable) else PriceTable(prices)
        self.records: dict[tuple[str, str], UsageRecord] = {}

    def record(self, model: str, role: str, output: ModelOutput, *, free: bool = False) -> float:
        """Add one call; return its cost in USD (`free`: the provider charges nothing, see `PriceTable.cost`)."""
        rec = self.records.get((model, role))
        if rec is None:
            rec = self.records[(model, role)] = UsageRecord()
        rec.calls += 1
        if output.cached:
            rec.cached_calls += 1
            return 0.0
        usage = output.usage
        cost = self.prices.cost(model, usage.input_tokens, usage.output_tokens, free=free)
        rec.input_tokens += usage.input_tokens
        rec.output_tokens += usage.output_tokens
        rec.cost += cost
        rec.latency += output.latency
        return cost

    @property
    def total_cost(self) -> float:
        return sum(r.cost for r in self.records.values())

    @property
    def total_tokens(self) -> int:
        return sum(r.input_tokens + r.output_tokens for r in self.records.values())

    def rows(self) -> list[dict[str, object]]:
        """One dict per (model, role), for tables and `summary.json`."""
        return [
            {"model": m, "role": r, **{k: v for k, v in vars(rec).items()}}
            for (m, r), rec in sorted(self.records.items())
        ]

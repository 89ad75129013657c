"""Per-model prices (USD per 1M tokens, input / output) used to estimate cost.

Defaults are the Singapore (international) list prices from reference/qwen-mt.md; prices
change, so ``--price IN,OUT`` (or the job file's ``price``) overrides them.
"""

from __future__ import annotations

from dataclasses import dataclass

from mtpipe.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million input and output tokens."""

    input_per_m: float
    output_per_m: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """USD for a request with this usage."""
        return (prompt_tokens * self.input_per_m + completion_tokens * self.output_per_m) / 1e6


DEFAULT_PRICES: dict[str, Price] = {
    "qwen-mt-turbo": Price(0.16, 0.49),
    "qwen-mt-plus": Price(2.46, 7.37),
    "qwen-mt-flash": Price(0.16, 0.49),
    "qwen-mt-lite": Price(0.12, 0.36),
    # Chat models for --engine chat: the lowest (input up to 32K/128K tokens, non-thinking)
    # Singapore prices of Model Studio's "Billing for model services" page,
    # https://www.alibabacloud.com/help/en/model-studio/billing-for-model-studio (flagship
    # models: minimum input / output price per million tokens). qwen-flash is not on it.
    "qwen-max": Price(1.6, 6.4),
    "qwen-plus": Price(0.4, 1.2),
    "qwen-turbo": Price(0.05, 0.2),
    "pseudo": Price(0.0, 0.0),
}


FREE = Price(0.0, 0.0)


def price_for(model: str, override: str | None = None, engine: str = "qwen") -> Price:
    """The price of ``model``: the override ``"IN,OUT"`` when given, else the default table.

    Unknown models without an override cost the most expensive known price, so a budget
    errs on the safe side; with ``engine`` ``"chat"`` (any model, a local one included) they
    cost nothing, and :func:`price_warning` says so.
    """
    if override:
        try:
            a, b = (float(x) for x in override.split(","))
        except ValueError:
            raise ConfigError(f"price {override!r}: expected IN,OUT in USD per 1M tokens") from None
        if a < 0 or b < 0:
            raise ConfigError(f"price {override!r}: prices cannot be negative")
        return Price(a, b)
    if model in DEFAULT_PRICES:
        return DEFAULT_PRICES[model]
    if engine == "chat":
        return FREE
    return max(DEFAULT_PRICES.values(), key=lambda p: p.input_per_m + p.output_per_m)


def price_warning(model: str, override: str | None, engine: str) -> str | None:
    """What the run summary says when ``model`` runs priced at zero (a chat model the table
    does not know, without ``--price``), else None."""
    if engine != "chat" or override or model in DEFAULT_PRICES:
        return None
    return (
        f"no price known for {model}: costs are counted as $0 and --max-cost cannot stop the run; "
        "give --price IN,OUT (USD per 1M input,output tokens) to count them"
    )

"""The chat engine's request, key and price rules (no network: MockTransport)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest

from mtpipe.engine.chat import ChatClient, build_chat_body, system_prompt
from mtpipe.engine.client import QwenClient, Sampling, TranslationRequest
from mtpipe.engine.tokens import count_tokens, counter_for, estimate_tokens
from mtpipe.errors import ConfigError
from mtpipe.records.prices import DEFAULT_PRICES, FREE, price_for, price_warning
from mtpipe.run.settings import Job
from mtpipe.text.languages import resolve

REQUEST = TranslationRequest(
    text="<m1/>Open the file\nSave <b>all</b>",
    source_lang="English",
    target_lang="German",
    terms=(("file", "Datei"), ("folder", "Ordner")),
    domains="A desktop text editor",
)


def test_chat_body_has_a_system_message_with_the_task_and_the_framed_text_as_user() -> None:
    body = build_chat_body("qwen-plus", REQUEST, instructions="Use the formal Sie.")
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    system, user = (m["content"] for m in body["messages"])
    assert user == REQUEST.text
    assert "from English into German." in system
    assert "one output line for each input line" in system
    assert "<m1/>" in system and "<n/>" in system
    assert "A desktop text editor" in system and "Use the formal Sie." in system
    assert "translation_options" not in body
    assert body["temperature"] == 0 and body["enable_thinking"] is False


def test_only_the_glossary_terms_that_occur_are_in_the_system_message() -> None:
    system = system_prompt(REQUEST)
    assert "- file => Datei" in system
    assert "Ordner" not in system
    bare = system_prompt(TranslationRequest("Quit", "English", "German", terms=(("file", "Datei"),)))
    assert "Datei" not in bare and "Use these translations" not in bare


def test_auto_source_names_no_source_and_sampling_overrides_temperature() -> None:
    auto = TranslationRequest("Quit", "auto", "Japanese")
    body = build_chat_body("m", auto, Sampling(temperature=0.3))
    assert "Translate the user message into Japanese." in body["messages"][0]["content"]
    assert body["temperature"] == 0.3


def _send(client: QwenClient) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["body"] = json.loads(request.content)
        seen["auth"] = request.headers.get("authorization")
        reply = {"choices": [{"message": {"content": "<m1/>Datei öffnen\nSpeichern"}, "finish_reason": "stop"}]}
        return httpx.Response(200, json=reply)

    client.transport = httpx.MockTransport(handler)

    async def go() -> None:
        await client.translate(REQUEST)
        await client.aclose()

    anyio.run(go)
    return seen


def test_chat_client_sends_the_chat_body_through_the_shared_http_path() -> None:
    seen = _send(ChatClient(base_url="http://127.0.0.1:9/v1", api_key="", model="llama3.1:8b"))
    assert seen["body"]["model"] == "llama3.1:8b"
    assert seen["body"]["messages"][0]["role"] == "system"
    assert seen["auth"] is None  # no key: no Authorization header at all
    seen = _send(QwenClient(base_url="http://127.0.0.1:9/v1", api_key="sk-abcdefgh123"))
    assert "translation_options" in seen["body"] and seen["auth"] == "Bearer sk-abcdefgh123"


def _job(engine: str, base_url: str, model: str = "qwen-plus") -> Job:
    return Job(inputs=[], targets=[resolve("de")], engine=engine, model=model, base_url=base_url,
               api_key_env="MTPIPE_CHAT_TEST_KEY")  # fmt: skip


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/v1", "http://localhost:11434/v1", "http://[::1]:8080/v1"])
def test_a_loopback_chat_endpoint_needs_no_key(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MTPIPE_CHAT_TEST_KEY", raising=False)
    assert _job("chat", url).api_key() == ""
    monkeypatch.setenv("MTPIPE_CHAT_TEST_KEY", "sk-local-123456")
    assert _job("chat", url).api_key() == "sk-local-123456"  # one that is set is still sent


@pytest.mark.parametrize(
    ("engine", "url"),
    [("chat", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"), ("chat", "http://127.0.0.1.evil.example/v1"),
     ("qwen", "http://127.0.0.1:8000/v1")],
)  # fmt: skip
def test_any_other_endpoint_still_needs_the_key(engine: str, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MTPIPE_CHAT_TEST_KEY", raising=False)
    model = "qwen-plus" if engine == "chat" else "qwen-mt-turbo"
    with pytest.raises(ConfigError, match="no API key"):
        _job(engine, url, model).api_key()


def test_a_qwen_mt_model_is_refused_for_the_chat_engine() -> None:
    with pytest.raises(ConfigError, match="Qwen-MT model"):
        _job("chat", "http://127.0.0.1:1/v1", "qwen-mt-turbo").validate()


def test_prices_of_the_qwen_chat_models_and_zero_with_a_warning_for_others() -> None:
    assert price_for("qwen-plus", None, "chat") == DEFAULT_PRICES["qwen-plus"]
    assert price_warning("qwen-plus", None, "chat") is None
    assert price_for("llama3.1:8b", None, "chat") == FREE
    warning = price_warning("llama3.1:8b", None, "chat")
    assert warning is not None and "--price" in warning and "llama3.1:8b" in warning
    assert price_for("llama3.1:8b", "0.1,0.2", "chat").input_per_m == 0.1
    assert price_warning("llama3.1:8b", "0.1,0.2", "chat") is None
    # Qwen-MT keeps erring on the expensive side for a model it does not know.
    assert price_for("qwen-mt-next") == DEFAULT_PRICES["qwen-mt-plus"]


def test_tokens_are_counted_with_qwens_vocabulary_only_for_qwen_models() -> None:
    text = "Speichern Sie alle Änderungen in der Datei"
    assert counter_for("qwen-plus")(text) == count_tokens(text)
    assert counter_for("Qwen3-32B")(text) == count_tokens(text)
    assert counter_for("llama3.1:8b")(text) == estimate_tokens(text)


def test_the_chat_estimate_counts_the_system_message() -> None:
    client = ChatClient(base_url="http://127.0.0.1:9/v1", api_key="")
    assert client.prompt_tokens(REQUEST) > count_tokens(system_prompt(REQUEST)) + count_tokens(REQUEST.text)

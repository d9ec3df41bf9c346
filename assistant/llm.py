"""LLM backends (LangChain chat models), the grounded answer chain and the citation check.

Backends (``settings.llm_backend``): ``llamacpp`` (our thin :class:`LlamaCppChatModel` around
``llama_cpp.Llama.create_chat_completion``; ``settings.llm_model`` = GGUF path, default from
:mod:`assistant.gguf`), ``ollama``
(``ChatOllama``) and ``openai`` (``ChatOpenAI``, any OpenAI-compatible server via ``llm_base_url``).

Every ``[n]`` the model writes is checked while it streams (:class:`CitationFilter`): numbers without a
passage are dropped (and recorded), the rest are renumbered in order of first use. What the caller does with an
answer that cites nothing valid is decided in ``assistant.core``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from assistant.extractive import citation_for
from assistant.lexical import tokenize
from assistant.models import Citation, RetrievedChunk
from assistant.prompts import SYSTEM_PROMPT, looks_like_injection, user_prompt
from assistant.settings import Settings
from assistant.units import Unit, split_units

# --- llama.cpp chat model -----------------------------------------------------------------------------
_LLAMAS: dict[tuple[str, int, int, str | None], Any] = {}
_LLAMAS_LOCK = threading.Lock()


def _load_llama(model_path: str, n_ctx: int, n_threads: int, chat_format: str | None) -> tuple[Any, Any]:
    """One loaded ``llama_cpp.Llama`` per configuration, with the lock that serialises its use."""
    key = (model_path, n_ctx, n_threads, chat_format)
    with _LLAMAS_LOCK:
        if key not in _LLAMAS:
            from llama_cpp import Llama

            llama = Llama(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, chat_format=chat_format,
                          verbose=False)
            # Re-entrant: a stream abandoned by its consumer holds the lock until it is garbage collected;
            # the same thread must still be able to start the next completion.
            _LLAMAS[key] = (llama, threading.RLock())
        return _LLAMAS[key]


def _role(message: BaseMessage) -> str:
    return {"system": "system", "human": "user", "ai": "assistant"}.get(message.type, "user")


def plain_prompt(messages: Sequence[BaseMessage]) -> str:
    """Messages as one completion prompt, for base models without a chat template."""
    return "\n\n".join(str(m.content).strip() for m in messages) + "\n"


class LlamaCppChatModel(BaseChatModel):
    """Chat model over a local GGUF file via llama-cpp-python (streams tokens).

    A GGUF without a chat template (a base model such as the gemma 270M smoke model) is prompted with plain
    completion (:func:`plain_prompt`) unless ``chat_format`` is given.
    """

    model_path: str
    n_ctx: int = 4096
    n_threads: int = max(1, os.cpu_count() or 2)
    temperature: float = 0.2
    max_tokens: int = 400
    repeat_penalty: float = 1.1
    chat_format: str | None = None
    _llama: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-partnerskab"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx, "temperature": self.temperature}

    def _ensure(self) -> tuple[Any, Any]:
        if self._llama is None:
            self._llama, self._lock = _load_llama(self.model_path, self.n_ctx, self.n_threads, self.chat_format)
        return self._llama, self._lock

    def _completion(self, messages: list[BaseMessage], stop: list[str] | None, stream: bool,
                    **kwargs: Any) -> Iterator[str]:
        """Generated text pieces (one piece when not streaming)."""
        llama, lock = self._ensure()
        common = {"temperature": kwargs.get("temperature", self.temperature),
                  "max_tokens": kwargs.get("max_tokens", self.max_tokens),
                  "repeat_penalty": self.repeat_penalty, "stop": stop or [], "stream": stream}
        plain = self.chat_format is None and "tokenizer.chat_template" not in (llama.metadata or {})
        with lock:
            if plain:
                result = llama.create_completion(prompt=plain_prompt(messages), **common)
            else:
                chat = [{"role": _role(m), "content": str(m.content)} for m in messages]
                result = llama.create_chat_completion(messages=chat, **common)
            for part in result if stream else [result]:
                choice = part["choices"][0]
                if plain:
                    yield choice.get("text") or ""
                else:
                    yield (choice.get("delta") or choice.get("message") or {}).get("content") or ""

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(self._completion(messages, stop, False, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for token in self._completion(messages, stop, True, **kwargs):
            if not token:
                continue
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk


def _llamacpp(settings: Settings) -> BaseChatModel:
    from assistant.gguf import default_gguf_path

    return LlamaCppChatModel(
        model_path=settings.llm_model or default_gguf_path(), n_ctx=settings.llm_context_tokens,
        temperature=settings.llm_temperature, max_tokens=settings.llm_max_tokens,
    )


def _ollama(settings: Settings) -> BaseChatModel:
    from langchain_ollama import ChatOllama

    kwargs: dict[str, Any] = {"base_url": settings.llm_base_url} if settings.llm_base_url else {}
    return ChatOllama(model=settings.llm_model or "qwen2.5:1.5b", temperature=settings.llm_temperature,
                      num_predict=settings.llm_max_tokens, num_ctx=settings.llm_context_tokens, **kwargs)


def _openai(settings: Settings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "ikke-sat"
    return ChatOpenAI(model=settings.llm_model or "gpt-4o-mini", base_url=settings.llm_base_url, api_key=key,
                      temperature=settings.llm_temperature, max_tokens=settings.llm_max_tokens)


LLM_BACKENDS: dict[str, Callable[[Settings], BaseChatModel | None]] = {
    "none": lambda _settings: None,
    "llamacpp": _llamacpp,
    "ollama": _ollama,
    "openai": _openai,
}
"""``settings.llm_backend`` -> factory of its LangChain chat model (declared once)."""


def get_chat_model(settings: Settings) -> BaseChatModel | None:
    """The configured LangChain chat model, or None for ``llm_backend = "none"``."""
    factory = LLM_BACKENDS.get(settings.llm_backend)
    if factory is None:
        raise ValueError(f"Ukendt LLM-backend: {settings.llm_backend!r}")
    return factory(settings)


# --- grounded answers ------------------------------------------------------------------------------------
_MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_MARKER_PREFIX = re.compile(r"\[\s*(?:\d+(?:\s*[,;]\s*\d*)*)?\s*")  # could still become a marker
_MAX_MARKER_CHARS = 24
_SENTENCES = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
_NOT_COVERED = re.compile(r"(står|findes|er) (der )?ikke (noget )?(om )?(det )?i guiden|ikke dækket af guiden",
                          re.IGNORECASE)


def build_messages(question: str, chunks: Sequence[RetrievedChunk]) -> list[BaseMessage]:
    """System prompt (rules) + user message (delimited passages, then the question)."""
    return [SystemMessage(content=SYSTEM_PROMPT), HumanMessage(content=user_prompt(question, chunks))]


class CitationFilter:
    """Checks ``[n]`` markers in a token stream: markers that point to a passage are renumbered 1..m in order
    of first use, invented ones are dropped (and recorded in ``invalid``). ``[1, 3]`` is handled too."""

    def __init__(self, n_passages: int) -> None:
        self.n_passages = n_passages
        self.order: list[int] = []  # passage numbers (1-based) in order of first citation
        self.invalid: list[int] = []
        self._pending = ""

    def feed(self, token: str) -> str:
        """The checked text that can be emitted now (a possibly unfinished marker is held back)."""
        text, self._pending = self._pending + token, ""
        out: list[str] = []
        pos = 0
        while (start := text.find("[", pos)) >= 0:
            out.append(text[pos:start])
            marker = _MARKER.match(text, start)
            if marker:
                out.append(self._renumber(marker.group(1)))
                pos = marker.end()
            elif _MARKER_PREFIX.fullmatch(text, start) and len(text) - start <= _MAX_MARKER_CHARS:
                self._pending = text[start:]
                return "".join(out)
            else:
                out.append("[")
                pos = start + 1
        out.append(text[pos:])
        return "".join(out)

    def flush(self) -> str:
        """Whatever was held back at the end of the stream."""
        rest, self._pending = self._pending, ""
        return rest

    def _renumber(self, numbers: str) -> str:
        kept: list[str] = []
        for num in (int(x) for x in re.split(r"[,;]", numbers)):
            if not 1 <= num <= self.n_passages:
                self.invalid.append(num)
                continue
            if num not in self.order:
                self.order.append(num)
            marker = f"[{self.order.index(num) + 1}]"
            if marker not in kept:
                kept.append(marker)
        return "".join(kept)


@dataclass
class CheckedAnswer:
    """An LLM answer after the citation check."""

    text: str
    citations: list[Citation]
    invalid: list[int] = field(default_factory=list)

    @property
    def grounded(self) -> bool:
        return bool(self.citations)

    @property
    def says_not_covered(self) -> bool:
        """The model said the passages do not answer the question (and cited nothing)."""
        return not self.citations and bool(_NOT_COVERED.search(self.text))


def tidy(text: str) -> str:
    """Whitespace left behind by dropped markers: double spaces, space before punctuation."""
    text = re.sub(r"[ \t]{2,}", " ", text)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", text).strip()


def check_citations(raw: str, chunks: Sequence[RetrievedChunk]) -> CheckedAnswer:
    """Drop ``[n]`` without a passage, renumber the rest 1..m in order of appearance, build citations.

    Each citation quotes the passage sentence that best matches the answer sentences citing it.
    """
    checker = CitationFilter(len(chunks))
    text = tidy(checker.feed(raw) + checker.flush())
    citations = [
        citation_for(new, chunks[old - 1], _best_span(chunks[old - 1], _citing_text(text, new)))
        for new, old in enumerate(checker.order, start=1)
    ]
    return CheckedAnswer(text=text, citations=citations, invalid=checker.invalid)


def _citing_text(text: str, n: int) -> str:
    """The answer sentences that cite ``[n]`` (the whole answer if none is found)."""
    return " ".join(s for s in _SENTENCES.findall(text) if f"[{n}]" in s) or text


def _best_span(chunk: RetrievedChunk, answer_text: str) -> list[Unit]:
    """The passage sentence sharing most words with ``answer_text`` (never an injection attempt)."""
    spans = [s for s in split_units(chunk.text) if not looks_like_injection(chunk.text[s.start:s.end])]
    if not spans:
        return []
    target = set(tokenize(answer_text))
    return [max(spans, key=lambda s: len(target & set(tokenize(chunk.text[s.start:s.end]))))]


def stream_answer(chat_model: BaseChatModel, question: str, chunks: Sequence[RetrievedChunk]) -> Iterator[str]:
    """Raw tokens of the grounded answer as they are generated."""
    for piece in chat_model.stream(build_messages(question, chunks)):
        token = piece.content if isinstance(piece.content, str) else ""
        if token:
            yield token

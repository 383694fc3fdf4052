"""`POST /generate` for a language model: the whole text as JSON, or streamed token by token as server-sent events.

    curl -N -X POST localhost:8000/generate -H 'Content-Type: application/json' \\
         -d '{"prompt": "ROMEO:", "max_tokens": 100, "stream": true}'

A stream is `text/event-stream`: one `data: {"text": "..."}` event per piece of text as the
model writes it, then `event: done` with `data: {"text": <the whole text>}`. A bad request
(a prompt of characters the model never saw, a max_tokens of -1) is a 422 sentence before any
event is sent.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoint's annotations.
import json
from collections.abc import Iterator
from typing import Any, Optional

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from neuronet.predict.text import Decoding, prompt_ids

__all__ = ["GenerateRequest", "add_generation"]

MAX_PROMPT_CHARS = 100_000
MAX_NEW_TOKENS = 4096


class GenerateRequest(BaseModel):
    """What to generate: the prompt and how to decode (see `neuronet generate --help`)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field("", max_length=MAX_PROMPT_CHARS, description="The text to continue ('' starts a new document).")
    max_tokens: int = Field(200, ge=1, le=MAX_NEW_TOKENS, description="Tokens to generate at most.")
    temperature: float = Field(0.8, ge=0, le=100, description="0: greedy; higher: more varied.")
    top_k: Optional[int] = Field(None, ge=1, description="Sample among the k most likely tokens only.")
    top_p: Optional[float] = Field(None, gt=0, le=1, description="Nucleus sampling: the most likely tokens up to p.")
    beam: int = Field(1, ge=1, le=16, description="Beam search with this many beams (1: sampling or greedy).")
    seed: int = Field(0, ge=0, lt=2**63, description="Seeds the sampling: the same seed gives the same text.")
    num: int = Field(1, ge=1, le=16, description="Texts to generate (not with stream).")
    stop: list[str] = Field(default_factory=list, max_length=16, description="End the text before any of these.")
    stream: bool = Field(False, description="Send the text as server-sent events, piece by piece.")


class Generated(BaseModel):
    texts: list[str] = Field(description="The generated texts (after the prompt).")


def _event(data: dict[str, Any], name: Optional[str] = None) -> str:
    return (f"event: {name}\n" if name else "") + f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def add_generation(app: FastAPI, predictor: Any, errors: dict[Any, Any]) -> None:
    """Add `POST /generate` (and its streaming form) for the language model `predictor`."""
    tokenizer = predictor.pipeline.language.tokenizer

    @app.post("/generate", response_model=Generated, responses=errors, summary="Generate text after a prompt",
              description="With `stream: true` the answer is text/event-stream: a `data: {\"text\": piece}` event per "
                          "piece as it is written, then `event: done` with the whole text.")
    async def generate(request: GenerateRequest) -> Any:
        options = Decoding(request.max_tokens, request.temperature, request.top_k, request.top_p, request.beam,
                           1.0, request.seed, request.num, tuple(request.stop))
        prompt_ids(tokenizer, request.prompt)  # characters it never saw: a 422 now, before a stream starts
        if not request.stream:
            texts = await run_in_threadpool(predictor.generate, request.prompt, **{
                k: getattr(options, k) for k in ("max_tokens", "temperature", "top_k", "top_p", "beam", "seed", "num",
                                                 "stop")})
            return {"texts": texts}
        if request.num > 1:
            from neuronet.errors import ConfigError

            raise ConfigError("A stream sends one text; ask for num 1 with stream, or num > 1 without it.")

        def events() -> Iterator[str]:  # iterated in a worker thread by Starlette
            whole = ""
            for piece in predictor.stream(request.prompt, max_tokens=options.max_tokens, temperature=options.temperature,
                                          top_k=options.top_k, top_p=options.top_p, beam=options.beam, seed=options.seed,
                                          stop=options.stop):
                whole += piece
                yield _event({"text": piece})
            yield _event({"text": whole}, "done")

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

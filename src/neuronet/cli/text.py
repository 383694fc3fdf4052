"""The commands that write text with a trained language model: `generate` and `chat`.

Both print the text as it is generated, token by token. `chat` keeps the conversation as the
model's context (its last `block_size` tokens are what it reads).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from neuronet.cli.common import app, err, friendly

__all__ = ["chat", "generate"]

RunArg = Annotated[Path, typer.Argument(help="A run directory of a language model (`neuronet train` on a text corpus).")]
MaxTokens = Annotated[int, typer.Option("--max-tokens", help="Tokens to generate at most.")]
Temperature = Annotated[float, typer.Option(help="0: always the most likely token (greedy); higher: more varied.")]
TopK = Annotated[Optional[int], typer.Option("--top-k", help="Sample among the k most likely tokens only.")]
TopP = Annotated[Optional[float], typer.Option("--top-p", help="Sample among the most likely tokens whose "
                                                               "probabilities add up to p (nucleus sampling).")]
Seed = Annotated[int, typer.Option(help="Seeds the sampling: the same seed gives the same text.")]
Stop = Annotated[Optional[list[str]], typer.Option("--stop", help="End the text before this string (repeatable; "
                                                                  "\\n is a line break, \\t a tab).")]


def _unescaped(stops: list[str] | None) -> tuple[str, ...]:
    """Stop strings as typed: the two characters \\n mean a line break (a shell passes them as they are)."""
    return tuple(s.replace("\\\\", "\0").replace("\\n", "\n").replace("\\t", "\t").replace("\0", "\\")
                 for s in stops or ())


def _load(run: Path) -> Any:
    from neuronet.predict import Predictor

    predictor = Predictor.load(run)
    if "generate" not in predictor.task.offers:
        from neuronet.errors import ConfigError

        hint = (f"translate with `neuronet predict {run} sentences.txt`" if "translate" in predictor.task.offers else
                f"predict with `neuronet predict {run} INPUTS`")
        raise ConfigError(f"{run} holds a {predictor.task.name} model, not a language model; {hint}.")
    return predictor


@app.command()
@friendly
def generate(
    run: RunArg,
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="The text to continue (default: a new document).")] = "",
    max_tokens: MaxTokens = 200,
    temperature: Temperature = 0.8,
    top_k: TopK = None,
    top_p: TopP = None,
    beam: Annotated[int, typer.Option(help="Beam search with this many beams (1: sampling / greedy).")] = 1,
    seed: Seed = 0,
    num: Annotated[int, typer.Option(help="Texts to generate (seeds seed, seed + 1, ...).")] = 1,
    stop: Stop = None,
) -> None:
    """Generate text with a trained language model, printing it as it comes."""
    predictor = _load(run)
    options = {"max_tokens": max_tokens, "temperature": temperature, "top_k": top_k, "top_p": top_p, "beam": beam,
               "stop": _unescaped(stop)}
    for i in range(num):
        if num > 1:
            err.print(f"--- text {i + 1} of {num} (seed {seed + i})")
        pieces = predictor.stream(prompt, seed=seed + i, **options)  # checked before anything is printed
        sys.stdout.write(prompt)
        for piece in pieces:
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
        sys.stdout.flush()


@app.command()
@friendly
def chat(
    run: RunArg,
    max_tokens: MaxTokens = 200,
    temperature: Temperature = 0.8,
    top_k: TopK = None,
    top_p: TopP = None,
    seed: Seed = 0,
    stop: Annotated[Optional[list[str]], typer.Option("--stop", help="End a reply before this string (default: a "
                                                                     "blank line).")] = None,
) -> None:
    """Talk with a trained language model in the terminal: each reply continues the whole conversation so far.

    Type a line and press Enter; an empty line, Ctrl-D or /quit ends the chat.
    """
    predictor = _load(run)
    stops = _unescaped(stop) or ("\n\n",)
    context, turn = "", 0
    err.print("Type a line and press Enter (an empty line, Ctrl-D or /quit ends the chat).")
    while True:
        try:
            line = input("you> ")
        except EOFError:
            break
        if not line.strip() or line.strip() == "/quit":
            break
        unknown = predictor.pipeline.language.tokenizer.unknown(line)
        if unknown:  # said, and the chat goes on without the line
            err.print(f"The model never saw {', '.join(repr(c) for c in unknown[:8])} in training; say it with other "
                      "characters.")
            continue
        context += line + "\n"
        sys.stdout.write("model> ")
        reply = ""
        for piece in predictor.stream(context, max_tokens=max_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                                      seed=seed + turn, stop=stops):
            reply += piece
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
        context += reply + "\n\n"
        turn += 1

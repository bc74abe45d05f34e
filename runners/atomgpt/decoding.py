"""Composition-constrained decoding: a grammar over the output text and a logits processor.

For each test crystal the output must be exactly::

    a b c            three lengths, {:.2f}, within ``length_range`` (Å)
    α β γ            three integer angles within ``angle_range`` (degrees)
    El x y z         one line per requested atom, species and counts of the
    ...              conditioning composition in its order, coordinates 0.000–0.999

followed by the end-of-sequence token. :class:`OutputGrammar` is that language as a
list of segments (literal text or a number field, each number field being the finite
set of its valid strings). :class:`GrammarLogitsProcessor` tracks one grammar state
per batch row and masks every token whose text would leave the language; it works for
any tokenizer (single digits, multi-character pieces, SentencePiece ``▁`` spaces)
because a token is judged by feeding its characters through the grammar, and masks are
cached per local state. The processor runs before temperature/top-k, so greedy and
sampled decoding are both constrained.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import torch
from transformers import LogitsProcessor

WINDOW = 4  # segments a single token may span


@dataclass(frozen=True)
class NumberField:
    """A number written with ``decimals`` decimals, between ``lo`` and ``hi`` (in units of 10^-decimals)."""

    lo: int
    hi: int
    decimals: int

    def values(self) -> list[str]:
        if self.decimals == 0:
            return [str(v) for v in range(self.lo, self.hi + 1)]
        scale = 10**self.decimals
        return [f"{v // scale}.{v % scale:0{self.decimals}d}" for v in range(self.lo, self.hi + 1)]


@dataclass(frozen=True)
class AngleField(NumberField):
    """Integer angle ``index`` (0, 1, 2) of the angle line; the third must close a valid cell."""

    index: int = 0


def _cell_ok(alpha: float, beta: float, gamma: float, margin: float = 1e-2) -> bool:
    """True when three angles (degrees) form a cell of clearly positive volume."""
    ca, cb, cg = (math.cos(math.radians(x)) for x in (alpha, beta, gamma))
    return 1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg > margin


@cache
def _trie_of(values: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """(all non-empty prefixes, complete values) of a finite set of strings."""
    prefixes = {v[:k] for v in values for k in range(1, len(v) + 1)}
    return frozenset(prefixes), frozenset(values)


@cache
def _trie(field: NumberField, ctx: tuple = ()) -> tuple[frozenset[str], frozenset[str]]:
    """Trie of a field; angles are restricted so that the cell can always be closed.

    The third angle only takes values closing a valid cell with ``ctx`` (α, β); the
    second only values for which such a third angle exists, so decoding never
    reaches a dead end (e.g. α = β = 15° admits no γ in range).
    """
    values = field.values()
    if isinstance(field, AngleField) and field.index == 2 and len(ctx) == 2:
        values = [v for v in values if _cell_ok(ctx[0], ctx[1], int(v))]
    elif isinstance(field, AngleField) and field.index == 1 and len(ctx) == 1:
        values = [v for v in values if any(_cell_ok(ctx[0], int(v), g) for g in range(field.lo, field.hi + 1))]
    return _trie_of(tuple(values))


def length_field(lo: float, hi: float) -> NumberField:
    return NumberField(int(round(lo * 100)), int(round(hi * 100)), 2)


COORD_FIELD = NumberField(0, 999, 3)

State = tuple  # (segment index, text consumed within the segment, completed angles)


class OutputGrammar:
    """The exact output language for one requested cell composition."""

    def __init__(self, species: Sequence[str], length_range=(1.0, 30.0), angle_range=(15, 165)):
        if not species:
            raise ValueError("a grammar needs at least one atom")
        lf = length_field(*length_range)
        a0, a1, a2 = (AngleField(int(angle_range[0]), int(angle_range[1]), 0, k) for k in range(3))
        segs: list = [lf, " ", lf, " ", lf, "\n", a0, " ", a1, " ", a2]
        for el in species:
            segs += [f"\n{el} ", COORD_FIELD, " ", COORD_FIELD, " ", COORD_FIELD]
        self.segments: tuple = tuple(segs)
        self.species = list(species)

    def max_chars(self) -> int:
        return sum(len(s) if isinstance(s, str) else max(len(v) for v in _trie(s)[1]) for s in self.segments)

    def start(self) -> State:
        return (0, "", ())

    def feed(self, state: State | None, text: str) -> State | None:
        """State after reading ``text`` from ``state``; ``None`` if ``text`` leaves the language."""
        for ch in text:
            if state is None:
                return None
            state = self._step(state, ch)
        return state

    def _step(self, state: State, ch: str) -> State | None:
        i, pre, ctx = state
        if i >= len(self.segments):
            return None
        seg = self.segments[i]
        if isinstance(seg, str):
            if seg[len(pre)] != ch:
                return None
            pre += ch
            return (i + 1, "", ctx) if len(pre) == len(seg) else (i, pre, ctx)
        prefixes, complete = _trie(seg, ctx)
        if pre + ch in prefixes:
            return (i, pre + ch, ctx)
        if pre in complete:  # the number ended; the character belongs to the next segment
            if isinstance(seg, AngleField):
                ctx = ctx + (int(pre),) if seg.index < 2 else ()
            return self._step((i + 1, "", ctx), ch)
        return None

    def is_final(self, state: State | None) -> bool:
        if state is None:
            return False
        i, pre, ctx = state
        if i >= len(self.segments):
            return True
        seg = self.segments[i]
        return i == len(self.segments) - 1 and not isinstance(seg, str) and pre in _trie(seg, ctx)[1]

    def local_key(self, state: State) -> tuple:
        """What determines the allowed tokens: the next few segments, the partial text, the angles so far."""
        i, pre, ctx = state
        return (self.segments[i : i + WINDOW], pre, ctx, i + WINDOW >= len(self.segments))


class GrammarLogitsProcessor(LogitsProcessor):
    """Masks tokens that would leave each row's :class:`OutputGrammar` (one per batch row)."""

    def __init__(
        self, grammars: Sequence[OutputGrammar], token_texts: Sequence[str], eos_token_id: int, prompt_length: int
    ):
        self.grammars = list(grammars)
        self.states: list[State | None] = [g.start() for g in self.grammars]
        self.done = [False] * len(self.grammars)
        self.token_texts = list(token_texts)
        self.candidates = [
            i
            for i, t in enumerate(self.token_texts)
            if t and len(t) <= 16 and all(c.isalnum() or c in " .\n-" for c in t)
        ]
        self.eos = eos_token_id
        self.prompt_length = prompt_length
        self.fed = 0
        self._cache: dict[tuple, torch.Tensor] = {}
        self._reach: dict[str, bool] = {}
        self.invalid = 0

    def _allowed(self, row: int, vocab: int, device) -> torch.Tensor:
        g, state = self.grammars[row], self.states[row]
        if self.done[row] or state is None:
            key = ("eos-only",)
        else:
            key = g.local_key(state)
        mask = self._cache.get(key)
        if mask is None:
            mask = torch.zeros(vocab, dtype=torch.bool)
            if key == ("eos-only",):
                mask[self.eos] = True
            else:
                # re-base the state on the window so the cache is valid for every row with this key
                window, pre, ctx, tail = key
                local = _WindowGrammar(window, tail)
                for tid in self.candidates:
                    if tid < vocab and self._viable(local, local.feed((0, pre, ctx), self.token_texts[tid])):
                        mask[tid] = True
                if local.is_final((0, pre, ctx)) or not mask.any():  # a dead end ends the row (parse reports it)
                    mask[self.eos] = True
            mask = mask.to(device)
            self._cache[key] = mask
        return mask

    def _viable(self, grammar: OutputGrammar, state: State | None) -> bool:
        """False for a state that stops inside a literal no sequence of tokens can finish."""
        if state is None:
            return False
        i, pre, _ = state
        if not pre or i >= len(grammar.segments) or not isinstance(grammar.segments[i], str):
            return True
        return self._literal_reachable(grammar.segments[i][len(pre) :])

    def _literal_reachable(self, rest: str) -> bool:
        if rest not in self._reach:
            self._reach[rest] = False  # guards against recursion on the same suffix
            texts = {self.token_texts[t] for t in self.candidates}
            self._reach[rest] = any(
                t.startswith(rest) or (rest.startswith(t) and self._literal_reachable(rest[len(t) :])) for t in texts
            )
        return self._reach[rest]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        generated = input_ids.shape[1] - self.prompt_length
        for step in range(self.fed, generated):
            for row, tid in enumerate(input_ids[:, self.prompt_length + step].tolist()):
                if self.done[row]:
                    continue
                if tid == self.eos:
                    self.done[row] = True
                    continue
                new = self.grammars[row].feed(
                    self.states[row], self.token_texts[tid] if tid < len(self.token_texts) else ""
                )
                if new is None:
                    self.invalid += 1
                self.states[row] = new
        self.fed = generated
        masks = torch.stack([self._allowed(row, scores.shape[1], scores.device) for row in range(scores.shape[0])])
        out = scores.masked_fill(~masks, float("-inf"))
        dead = torch.isneginf(out).all(dim=1)
        if dead.any():  # every allowed token was already removed upstream: keep them, uniform
            out[dead] = torch.where(masks[dead], 0.0, float("-inf"))
        return out


class _WindowGrammar(OutputGrammar):
    """An :class:`OutputGrammar` over a window of segments (used for cached masks)."""

    def __init__(self, segments: tuple, is_tail: bool):
        self.segments = segments
        self.is_tail = is_tail

    def _step(self, state: State, ch: str) -> State | None:
        if state[0] >= len(self.segments) and not self.is_tail:
            return None  # token runs past the window: conservatively reject
        return super()._step(state, ch)

    def is_final(self, state: State | None) -> bool:
        return self.is_tail and super().is_final(state)


@dataclass
class DecodeOptions:
    """Sampler settings (recorded in predictions.json)."""

    do_sample: bool = False
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0  # nucleus sampling (1.0: off)
    batch_size: int = 16
    constrained: bool = True
    max_new_tokens: int = 1024


def generate_outputs(
    model,
    tokenizer,
    prompts: Sequence[str],
    grammars: Sequence[OutputGrammar],
    options: DecodeOptions,
    token_texts: Sequence[str] | None = None,
    on_batch=None,
) -> list[str]:
    """Generate the output text of each prompt (batched, left padded).

    ``on_batch(start, texts)`` is called after each batch. With
    ``options.constrained`` each row follows its grammar; otherwise generation is
    free (as upstream) and stops at EOS or ``max_new_tokens``.
    """
    from transformers import LogitsProcessorList

    from atomgenbench.runners.atomgpt.tokenizer import token_strings

    token_texts = token_texts if token_texts is not None else token_strings(tokenizer)
    device = next(model.parameters()).device
    tokenizer.padding_side = "left"
    outputs: list[str] = []
    model.eval()
    for start in range(0, len(prompts), options.batch_size):
        batch = list(prompts[start : start + options.batch_size])
        enc = tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        plen = enc["input_ids"].shape[1]
        kwargs = dict(
            max_new_tokens=options.max_new_tokens,
            do_sample=options.do_sample,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        if options.do_sample:
            kwargs.update(temperature=options.temperature, top_k=options.top_k or None)
            if options.top_p < 1.0:
                kwargs["top_p"] = options.top_p
        if options.constrained:
            rows = grammars[start : start + options.batch_size]
            kwargs["max_new_tokens"] = max(g.max_chars() for g in rows) + 2
            kwargs["logits_processor"] = LogitsProcessorList(
                [GrammarLogitsProcessor(rows, token_texts, tokenizer.eos_token_id, plen)]
            )
        with torch.no_grad():
            out = model.generate(**enc, **kwargs)
        texts = tokenizer.batch_decode(out[:, plen:], skip_special_tokens=True)
        outputs.extend(texts)
        if on_batch is not None:
            on_batch(start, texts)
    return outputs

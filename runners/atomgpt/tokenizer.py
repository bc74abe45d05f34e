"""A small word/character tokenizer trained on the AtomGPT corpus (``tokenizers`` library).

Pre-tokenisation splits every digit, every space, newline and punctuation mark into
its own token, and letters into capitalised words (``Na``, ``Cl``, ``Below``) or
lower-case runs (``is``, ``chemical``). Numbers are therefore tokenised per digit,
as in Mistral's SentencePiece vocabulary, and element symbols are single tokens —
which makes composition-constrained decoding a simple state machine. All 118
element symbols are always in the vocabulary so any composition can be decoded.
Decoding concatenates tokens, so ``decode(encode(text)) == text`` exactly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

PAD, EOS, BOS, UNK = "<pad>", "</s>", "<s>", "<unk>"
SPLIT_PATTERN = r"\d|[A-Z][a-z]*|[a-z]+|\s|[^\sA-Za-z\d]"


def _element_symbols() -> list[str]:
    from pymatgen.core.periodic_table import Element

    return [el.symbol for el in Element]


def train_tokenizer(texts: Iterable[str]):
    """Train a WordLevel tokenizer on ``texts``; return a ``PreTrainedTokenizerFast``."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.WordLevel(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated")
    tok.decoder = decoders.Fuse()
    trainer = trainers.WordLevelTrainer(special_tokens=[PAD, BOS, EOS, UNK], min_frequency=1)
    corpus = list(texts) + [" ".join(_element_symbols()), "0123456789 .-\n"]
    tok.train_from_iterator(corpus, trainer=trainer)
    return wrap(tok)


def wrap(tok):
    """Wrap a ``tokenizers.Tokenizer`` as a Hugging Face fast tokenizer with our special tokens."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=PAD,
        eos_token=EOS,
        bos_token=BOS,
        unk_token=UNK,
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )


def load_tokenizer(path: str | Path):
    """A tokenizer saved with ``save_pretrained`` (ours or any Hugging Face one), offline."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if tok.pad_token is None:  # as AtomGPT: fall back to eos / unk
        tok.pad_token = tok.eos_token or tok.unk_token
    tok.padding_side = "left"
    return tok


def token_strings(tokenizer) -> list[str]:
    """The literal text of every token id, for grammar-constrained decoding.

    SentencePiece (``▁``) and byte-level BPE (``Ġ``, ``Ċ``) markers are mapped to
    a space and a newline, byte tokens ``<0x0A>`` to their character; special
    tokens map to ``""`` (never allowed by the grammar).
    """
    vocab = tokenizer.get_vocab()
    out = [""] * max(len(tokenizer), max(vocab.values()) + 1)
    special = set(tokenizer.all_special_tokens)
    for piece, idx in vocab.items():
        if piece in special:
            continue
        if piece.startswith("<0x") and piece.endswith(">") and len(piece) == 6:
            with contextlib.suppress(ValueError):
                out[idx] = chr(int(piece[3:5], 16))
            continue
        out[idx] = piece.replace("▁", " ").replace("Ġ", " ").replace("Ċ", "\n")
    return out

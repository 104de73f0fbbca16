"""Token streams and the mixtures that batches are drawn from.

Every source (English text, Korean text, arithmetic problems) becomes one 1-D stream of token ids. A batch is a set
of rows cut at random offsets from the streams (for arithmetic problems, offsets where a problem begins), the
number of rows per stream fixed by the mixture's ratio. A batch is a pure function of (mixture, seed, step): a
resumed run, or another process of a multi-process run, sees exactly the batches an uninterrupted single-process
run would.
"""
import hashlib
import itertools
from dataclasses import dataclass

import torch


def stable_seed(*parts) -> int:
    """A 63-bit seed from any printable parts, the same in every process and Python session."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little") >> 1


@dataclass(frozen=True)
class TokenStream:
    """A 1-D stream of token ids; rows are cut at any offset, or only at `starts` (document starts) when given."""
    name: str
    ids: torch.Tensor  # [N] long
    starts: torch.Tensor | None = None  # [D] long, offsets where documents begin

    def __len__(self):
        return len(self.ids)


def text_stream(name: str, text: str, tokenizer) -> TokenStream:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return TokenStream(name, torch.tensor(ids, dtype=torch.long))


def encode(tokenizer, texts) -> list[list[int]]:
    """Token ids of each text (no special tokens), as tokenizer(texts)["input_ids"] gives them, in a fraction of its
    time: each distinct text is encoded once (100,000 arithmetic problems have ~4,000 distinct prompts) by the
    fast tokenizer's own batch encoder, skipping the per-row Python wrapping of transformers."""
    unique = list(dict.fromkeys(texts))
    encoded = tokenizer.backend_tokenizer.encode_batch(unique, add_special_tokens=False)
    ids = {text: e.ids for text, e in zip(unique, encoded)}
    return [ids[text] for text in texts]


def _joined(rows) -> torch.Tensor:
    return torch.tensor(list(itertools.chain.from_iterable(rows)), dtype=torch.long)


def parts_stream(name: str, parts, tokenizer, separator: str) -> TokenStream:
    """Texts joined by `separator`, encoded part by part (as text_stream encodes them joined, for a tokenizer that
    never merges across the separator, e.g. the embedded character one), with `starts` where each part begins."""
    ids, sep = encode(tokenizer, list(parts)), encode(tokenizer, [separator])[0]
    lengths = torch.tensor([0] + [len(i) + len(sep) for i in ids[:-1]], dtype=torch.long)
    return TokenStream(name, _joined(i + sep for i in ids)[: -len(sep) or None], lengths.cumsum(0))


def documents_stream(name: str, docs, tokenizer) -> TokenStream:
    """Documents joined as <bos> doc <eos> <bos> doc <eos> ..."""
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    return TokenStream(name, _joined([bos, *doc, eos] for doc in encode(tokenizer, list(docs))))


def problems_stream(name: str, problems, tokenizer) -> TokenStream:
    """Problems joined as <bos> prompt answer <eos> ..., prompt and answer encoded apart exactly as in evaluation."""
    problems = list(problems)
    prompts, answers = encode(tokenizer, [p for p, _ in problems]), encode(tokenizer, [a for _, a in problems])
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    ids = _joined([bos, *p, *a, eos] for p, a in zip(prompts, answers))
    starts = (ids == bos).nonzero().squeeze(1)
    return TokenStream(name, ids, starts)


def split_rows(weights, rows: int) -> list[int]:
    """Rows per source in proportion to `weights`, by largest remainder (so 1:3 over 8 rows is exactly 2 and 6)."""
    total = float(sum(weights))
    exact = [rows * w / total for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: rows - sum(counts)]:
        counts[i] += 1
    return counts


class Mixture:
    """Streams mixed by row ratio, e.g. Mixture("reference", [(arith, 1), (english, 3)], seq_len=64)."""

    def __init__(self, name: str, parts, seq_len: int):
        self.name, self.parts, self.seq_len = name, list(parts), int(seq_len)
        for stream, weight in self.parts:
            if len(stream) <= self.seq_len:
                raise ValueError(f"stream {stream.name!r} has {len(stream)} tokens, fewer than seq_len={seq_len}")
            if weight < 0:
                raise ValueError(f"mixture weight of {stream.name!r} must be >= 0, got {weight}")
        # Offsets a row may start at, found once: None = any offset; else the document starts that leave a full row.
        self._row_starts = [None if s.starts is None else s.starts[s.starts < len(s) - self.seq_len]
                            for s, _ in self.parts]

    def describe(self) -> dict:
        """What identifies this mixture in an artifact key."""
        return {"name": self.name, "seq_len": self.seq_len,
                "parts": [(s.name, len(s), float(w)) for s, w in self.parts]}

    def batch(self, step: int, rows: int, seed: int) -> dict:
        """{"input_ids", "attention_mask", "source"} for training step `step`: [rows, seq_len] long twice, and
        [rows] long, the index in `parts` of the stream each row was cut from."""
        gen = torch.Generator().manual_seed(stable_seed(self.name, seed, step))
        counts = split_rows([w for _, w in self.parts], rows)
        out = []
        for (stream, _), valid, count in zip(self.parts, self._row_starts, counts):
            if valid is None:
                starts = torch.randint(0, len(stream) - self.seq_len, (count,), generator=gen)
            else:  # rows begin where a document (problem) begins
                starts = valid[torch.randint(0, len(valid), (count,), generator=gen)]
            out.append(stream.ids[starts[:, None] + torch.arange(self.seq_len)])
        order = torch.randperm(rows, generator=gen)
        ids = torch.cat(out)[order]
        source = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))[order]
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "source": source}

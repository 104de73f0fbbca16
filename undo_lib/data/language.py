"""English (retain) and Korean (forget) text.

Embedded defaults, offline: English prose from the documentation topics shipped with Python itself
(`pydoc_data.topics`, ~465K characters) and Korean legal text shipped inside the konlpy package
(`konlpy/data/corpus/`, ~65K characters, read as package data, no Java needed). At scale `paper` the text is
streamed from FineWeb-Edu and FineWeb-2 (kor_Hang) through `datasets`.
Repeated paragraphs are removed across documents (`deduplicated`); each text is then split once into train and
validation parts: the last VALIDATION_FRACTION of every document (graded text: settings.Language alternates its
windows between the validation and test evaluators).
"""
from functools import lru_cache
from importlib import resources

VALIDATION_FRACTION = 0.1
HUB_SOURCES = {  # (dataset, config) streamed at scale 'paper'
    "english": ("HuggingFaceFW/fineweb-edu", "sample-10BT"),
    "korean": ("HuggingFaceFW/fineweb-2", "kor_Hang"),
}


def deduplicated(docs) -> tuple[str, ...]:
    """The documents with every paragraph that an earlier document (or paragraph) already holds removed, compared
    with whitespace collapsed; paragraphs of at most 40 characters (headings, short code) are kept. Python's topics
    repeat one another (19% of their text); without this, 30% of the 50-character windows of the held-out English
    also occurred in the training English."""
    seen, out = set(), []
    for doc in docs:
        kept = []
        for paragraph in doc.split("\n\n"):
            key = " ".join(paragraph.split())
            if len(key) > 40 and key in seen:
                continue
            seen.add(key)
            kept.append(paragraph)
        out.append("\n\n".join(kept))
    return tuple(out)


@lru_cache(maxsize=1)
def _english_documents() -> tuple[str, ...]:
    from pydoc_data.topics import topics
    return deduplicated(topics[k].strip() for k in sorted(topics))


@lru_cache(maxsize=1)
def _korean_documents() -> tuple[str, ...]:
    corpus = resources.files("konlpy") / "data" / "corpus"
    files = sorted((f for d in ("kolaw", "kobill") for f in (corpus / d).iterdir() if f.name.endswith(".txt")),
                   key=lambda f: f.name)
    return deduplicated(f.read_text(encoding="utf-8").strip() for f in files)


SEPARATOR = "\n\n"  # between documents in a split's text


def _parts(docs, split: str) -> tuple[str, ...]:
    """Each document's part of a split: its first 90% (train), the rest (validation), or all of it."""
    if split not in ("train", "validation", "all"):
        raise ValueError(f"split must be 'train', 'validation' or 'all', got {split!r}")
    cuts = [int(len(doc) * (1 - VALIDATION_FRACTION)) for doc in docs]
    return tuple({"train": doc[:cut], "validation": doc[cut:], "all": doc}[split] for doc, cut in zip(docs, cuts))


def _split(docs, split: str) -> str:
    return SEPARATOR.join(_parts(docs, split))


def english_text(split: str = "all") -> str:
    return _split(_english_documents(), split)


def korean_text(split: str = "all") -> str:
    return _split(_korean_documents(), split)


def embedded_text(language: str, split: str) -> str:
    return {"english": english_text, "korean": korean_text}[language](split)


def embedded_parts(language: str, split: str) -> tuple[str, ...]:
    """Every embedded document's part of a split, in order: embedded_text is them joined by SEPARATOR."""
    return _parts({"english": _english_documents, "korean": _korean_documents}[language](), split)


def hub_documents(language: str, split: str, n_docs: int):
    """Stream `n_docs` documents of FineWeb(-2); the validation split skips past the training documents.

    Raises a RuntimeError naming the data set when the hub cannot be reached.
    """
    from .hub import unreachable
    name, config = HUB_SOURCES[language]
    why = unreachable()  # at once, not after the hub library's retries
    if why:
        raise RuntimeError(f"Could not stream {name} ({config}) from the Hugging Face hub: {why}. Scale 'paper' "
                           "needs network access; use scale 'smoke', 'cpu' or 'gpu' for the embedded text.")
    try:
        from datasets import load_dataset
        stream = load_dataset(name, config, split="train", streaming=True)
        stream = stream.skip(n_docs) if split == "validation" else stream
        return [row["text"] for row in stream.take(n_docs)]
    except Exception as err:  # noqa: BLE001 - any failure means the hub is not usable here
        raise RuntimeError(
            f"Could not stream {name} ({config}) from the Hugging Face hub ({type(err).__name__}: {err}). "
            "Scale 'paper' needs network access; use scale 'smoke', 'cpu' or 'gpu' for the embedded text.") from err

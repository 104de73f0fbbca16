"""Tokenizers: an embedded character-level one (offline default) and the Gemma-2 tokenizer (paper scale)."""
from functools import lru_cache

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ["<pad>", "<bos>", "<eos>", "<unk>"]
GEMMA_TOKENIZER = "google/gemma-2-2b"


def char_tokenizer(texts) -> PreTrainedTokenizerFast:
    """One token per character seen in `texts` (sorted, so the vocabulary is deterministic), plus the specials."""
    chars = sorted(set("".join(texts)) - set(SPECIAL_TOKENS))
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + chars)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"(?m).|\n"), behavior="isolated")  # every character alone
    tok.decoder = decoders.Fuse()  # join characters back without spaces
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<bos>",
                                   eos_token="<eos>", unk_token="<unk>")


@lru_cache(maxsize=1)
def embedded_tokenizer() -> PreTrainedTokenizerFast:
    """The character tokenizer over every embedded text (English, Korean, arithmetic), shared by both settings."""
    from . import arithmetic, language
    return char_tokenizer([language.english_text(), language.korean_text(), arithmetic.charset()])


def hub_tokenizer(name: str = GEMMA_TOKENIZER) -> PreTrainedTokenizerFast:
    """The Gemma-2 tokenizer from the Hugging Face hub or its local cache (gated; needs a login)."""
    from transformers import AutoTokenizer

    from .hub import unreachable
    try:  # unreachable: the local cache only, at once, not after the hub library's retries
        return AutoTokenizer.from_pretrained(name, local_files_only=bool(unreachable()))
    except Exception as err:  # noqa: BLE001 - any failure means the hub is not usable here
        raise RuntimeError(
            f"Could not load the tokenizer {name!r} from the Hugging Face hub ({type(err).__name__}: {err}). "
            "Scale 'paper' needs network access and an accepted Gemma licence (huggingface-cli login); "
            "use scale 'smoke', 'cpu' or 'gpu' for the embedded offline tokenizer.") from err

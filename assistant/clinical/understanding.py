"""One entry point that turns an utterance into findings: lexicon first, then the optional
embedding fallback and LLM extractor, each only adding concepts the earlier steps did not find."""

from __future__ import annotations

from assistant.clinical.embedding_fallback import EmbeddingFallback
from assistant.clinical.findings import Extraction
from assistant.clinical.lexicon import Lexicon, get_lexicon
from assistant.clinical.llm_extractor import FindingExtractor, validate_extracted


def understand(
    text: str,
    lang: str = "en",
    *,
    lexicon: Lexicon | None = None,
    fallback: EmbeddingFallback | None = None,
    extractor: FindingExtractor | None = None,
) -> Extraction:
    lex = lexicon or get_lexicon()
    ext = lex.extract(text, lang)
    if fallback is not None:
        known = {f.concept for f in ext.findings}
        ext.findings.extend(f for f in fallback.find(text, ext.findings) if f.concept not in known)
    if extractor is not None:
        labels = {c.id: c.label["en"] for c in lex.concepts.values()}
        checked = validate_extracted(extractor.extract(text, lang, labels), text, lex)
        known = {f.concept for f in ext.findings}
        ext.findings.extend(f for f in checked.accepted if f.concept not in known)
    return ext

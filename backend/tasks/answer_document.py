"""Document question answering: a page image or a PDF + a question -> the answer, its score, its page and its box.

- LayoutLM (v1) answers extractively from the words OCR reads (Tesseract when installed, else RapidOCR: see
  backend/documents/ocr.py): the answer is a span of OCR words, and its box the union of their boxes. A page
  longer than one 512-token window is read in overlapping windows; spans are scored as the transformers
  document-question-answering pipeline scores them.
- Donut reads the page image itself and generates the answer after a DocVQA prompt; it has no box. Its score is
  the geometric mean of the probabilities of the tokens it generated.
A PDF's first DOCUMENT_PAGES_READ pages are each asked; the answer with the highest score wins.
"""

from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from backend import compute, dispatch, inputs, models
from backend.catalog import resolve_model
from backend.documents import ocr
from backend.limits import DOCUMENT_PAGES_READ, MAX_DOCUMENT_ANSWER_TOKENS, MAX_QUESTION_CHARS

TASK = "answer_document"
MAX_ANSWER_TOKENS = 15  # longest LayoutLM answer span, in tokens (the pipeline's default max_answer_len)
DONUT_PROMPT = "<s_docvqa><s_question>{question}</s_question><s_answer>"
DONUT_ANSWER_END = "</s_answer>"
NO_TEXT_NOTE = ("No text found: OCR read no words on {pages}. Upload a sharper or larger scan, or try Donut, "
                "which reads the page image without OCR.")


@dataclass
class Candidate:
    """One page's best answer."""

    answer: str
    score: float  # in [0, 1]
    box: list[int] | None  # [xmin, ymin, xmax, ymax] in the page image's pixels; None for Donut


@dataclass
class DocumentAnswer:
    """The answer to a question about a document, with the page image it was found on (not part of the JSON)."""

    model: str
    answer: str
    score: float
    page: int | None  # 1-based page number; None when no page gave an answer
    box: list[int] | None
    pages_read: int  # the first pages that were asked
    page_count: int  # pages in the file
    note: str  # why there is no answer, or that later pages were not read; "" otherwise
    image: Image.Image  # the answer's page (the first page when there is no answer)
    ocr: str | None = None  # the OCR engine that read the pages ("tesseract" or "rapidocr"); None for Donut

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: {"model", "answer", "score", "page", "box", "pages_read", "page_count", "note",
        "ocr"}."""
        return {"model": self.model, "answer": self.answer, "score": self.score, "page": self.page, "box": self.box,
                "pages_read": self.pages_read, "page_count": self.page_count, "note": self.note, "ocr": self.ocr}


@dispatch.task(files={"document": "document"})
def answer_document(document: Any, question: str, model: str | None = None) -> DocumentAnswer:
    """Answer a question about a page image or the first DOCUMENT_PAGES_READ pages of a PDF."""
    spec = resolve_model(TASK, model)
    question = inputs.clean_text(question, max_chars=MAX_QUESTION_CHARS, what="question")
    document_pages = inputs.load_document(document, DOCUMENT_PAGES_READ)
    pages = document_pages.pages
    loaded = models.get(spec.id)
    engine = ocr.engine() if spec.family == "layoutlm" else None  # chosen once: every page is read alike
    if engine:
        candidates = [answer_from_words(loaded, question, ocr.read_words(page, engine), page.size) for page in pages]
    else:
        candidates = [answer_from_image(loaded, question, page) for page in pages]
    found = [(candidate.score, index) for index, candidate in enumerate(candidates) if candidate is not None]
    notes = []
    if document_pages.page_count > len(pages):
        notes.append(f"Only the first {len(pages)} of {document_pages.page_count} pages were read.")
    if not found:
        read = "the page" if len(pages) == 1 else f"pages 1-{len(pages)}"
        return DocumentAnswer(model=spec.id, answer="", score=0.0, page=None, box=None, pages_read=len(pages),
                              page_count=document_pages.page_count,
                              note=" ".join([NO_TEXT_NOTE.format(pages=read), *notes]), image=pages[0], ocr=engine)
    _, best = max(found, key=lambda item: (item[0], -item[1]))  # the highest score; on a tie, the first page
    candidate = candidates[best]
    return DocumentAnswer(model=spec.id, answer=candidate.answer, score=candidate.score, page=best + 1,
                          box=candidate.box, pages_read=len(pages), page_count=document_pages.page_count,
                          note=" ".join(notes), image=pages[best], ocr=engine)


# --- LayoutLM: a span of OCR words --------------------------------------------------------------------------


def answer_from_words(loaded: models.LoadedModel, question: str, words: list[ocr.Word],
                      size: tuple[int, int]) -> Candidate | None:
    """The best span of `words` (OCR'd from a page of `size` = (width, height) pixels); None when there are none."""
    if not words:
        return None
    tokenizer = prefix_space_tokenizer(loaded)
    width, height = size
    boxes = [ocr.normalized_box(word.box, width, height) for word in words]
    spans = []
    # A fast tokenizer's truncation settings are per-object state: tokenize under the lock the model call holds.
    with compute.model_work():
        windows = layoutlm_features(tokenizer, question, [word.text for word in words], boxes, window_tokens(loaded))
        # One forward per window, unpadded: batching padded the last, shorter window to full length (a third more
        # tokens for a two-window page), more than the batch saved.
        for features, word_ids in windows:
            outputs = loaded.model(**{name: value.to(loaded.device) for name, value in features.items()})
            spans.append(best_span(outputs.start_logits[0].float().cpu(), outputs.end_logits[0].float().cpu(),
                                   word_ids))
    found = [span for span in spans if span is not None]
    if not found:
        return None
    first, last, score = max(found, key=lambda span: span[2])
    answer_boxes = [word.box for word in words[first:last + 1]]
    union = [min(box[0] for box in answer_boxes), min(box[1] for box in answer_boxes),
             max(box[2] for box in answer_boxes), max(box[3] for box in answer_boxes)]
    return Candidate(answer=" ".join(word.text for word in words[first:last + 1]), score=score, box=union)


def prefix_space_tokenizer(loaded: models.LoadedModel) -> Any:
    """The model's tokenizer, made to mark each OCR word as a new word (a leading space, for byte-level BPE).

    impira/layoutlm-document-qa ships RoBERTa's tokenizer without `add_prefix_space`, which then tokenizes each
    pre-split word as if it continued the previous one ("total" instead of " total"); the checkpoint's own usage
    loads it with add_prefix_space=True. This copy does the same, once per loaded model.
    """
    if "prefix_space_tokenizer" not in loaded.memo:
        import copy

        from tokenizers import pre_tokenizers

        tokenizer = getattr(loaded.processor, "tokenizer", loaded.processor)
        pre_tokenizer = tokenizer.backend_tokenizer.pre_tokenizer
        if isinstance(pre_tokenizer, pre_tokenizers.ByteLevel) and not pre_tokenizer.add_prefix_space:
            tokenizer = copy.deepcopy(tokenizer)
            tokenizer.backend_tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(
                add_prefix_space=True, use_regex=pre_tokenizer.use_regex)
            tokenizer.add_prefix_space = True
        loaded.memo["prefix_space_tokenizer"] = tokenizer
    return loaded.memo["prefix_space_tokenizer"]


def window_tokens(loaded: models.LoadedModel) -> int:
    """Tokens per LayoutLM window: the tokenizer's limit, capped by the model's position embeddings (512)."""
    tokenizer = getattr(loaded.processor, "tokenizer", loaded.processor)
    return min(tokenizer.model_max_length, loaded.model.config.max_position_embeddings)


def layoutlm_features(tokenizer: Any, question: str, words: list[str], boxes: list[list[int]],
                      max_tokens: int) -> list[tuple[dict[str, torch.Tensor], list[int | None]]]:
    """Model inputs for question + words in overlapping windows of at most `max_tokens`, with each token's word.

    A token's word index is None outside the document's words (the question, special tokens). Boxes follow the
    layout the checkpoint was trained with: a word's box for its tokens, 1000s for separators, else 0s.
    """
    encoding = tokenizer(question.split(), words, is_split_into_words=True, truncation="only_second",
                         max_length=max_tokens, stride=min(max_tokens // 2, 256), return_overflowing_tokens=True,
                         return_token_type_ids=True)
    windows = []
    for row, input_ids in enumerate(encoding["input_ids"]):
        word_ids = [word if sequence == 1 else None
                    for word, sequence in zip(encoding.word_ids(row), encoding.sequence_ids(row), strict=True)]
        bbox = [boxes[word] if word is not None else [1000] * 4 if token == tokenizer.sep_token_id else [0] * 4
                for word, token in zip(word_ids, input_ids, strict=True)]
        features = {name: torch.tensor([encoding[name][row]]) for name in
                    ("input_ids", "attention_mask", "token_type_ids")}
        features["bbox"] = torch.tensor([bbox], dtype=torch.long)  # (1, tokens, 4)
        windows.append((features, word_ids))
    return windows


def best_span(start_logits: torch.Tensor, end_logits: torch.Tensor,
              word_ids: list[int | None]) -> tuple[int, int, float] | None:
    """A window's highest-scoring span: (first word, last word, score); logits are (tokens,).

    As the pipeline: softmax over the document's tokens and the CLS token; a span's score is P(start) * P(end),
    with start <= end < start + MAX_ANSWER_TOKENS.
    """
    is_context = torch.tensor([word is not None for word in word_ids])
    allowed = is_context.clone()
    allowed[0] = True  # CLS (the "no answer" token) takes part in the softmax, never in a span
    start = torch.where(allowed, start_logits, -10_000.0).softmax(dim=-1) * is_context
    end = torch.where(allowed, end_logits, -10_000.0).softmax(dim=-1) * is_context
    spans = (start[:, None] * end[None, :]).triu().tril(MAX_ANSWER_TOKENS - 1)  # (start token, end token)
    first, last = divmod(int(spans.argmax()), spans.shape[1])
    score = float(spans[first, last])
    if score <= 0.0:
        return None
    return word_ids[first], word_ids[last], score


# --- Donut: generated text --------------------------------------------------------------------------------


def answer_from_image(loaded: models.LoadedModel, question: str, page: Image.Image) -> Candidate:
    """Donut's answer about one page image, generated greedily after the DocVQA prompt."""
    processor = loaded.processor
    tokenizer = processor.tokenizer
    pixel_values = processor(images=page, return_tensors="pt").pixel_values.to(loaded.device, loaded.dtype)
    prompt = tokenizer(DONUT_PROMPT.format(question=question), add_special_tokens=False,
                       return_tensors="pt").input_ids.to(loaded.device)
    stop_ids = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids(DONUT_ANSWER_END)]
    with compute.model_work():
        output = loaded.model.generate(pixel_values=pixel_values, decoder_input_ids=prompt, do_sample=False,
                                       num_beams=1, max_new_tokens=MAX_DOCUMENT_ANSWER_TOKENS, eos_token_id=stop_ids,
                                       pad_token_id=tokenizer.pad_token_id, bad_words_ids=[[tokenizer.unk_token_id]],
                                       return_dict_in_generate=True, output_scores=True)
    generated = output.sequences[0, prompt.shape[1]:].tolist()
    # Per generated token, log P(token); the scores are the processed logits greedy search picked from.
    log_probs = torch.stack([step[0].float().log_softmax(-1)[token] for step, token in
                             zip(output.scores, generated, strict=True)])
    kept = generated[:generated.index(stop_ids[1])] if stop_ids[1] in generated else generated
    answer = tokenizer.decode(kept, skip_special_tokens=True).strip()
    return Candidate(answer=answer, score=float(log_probs.mean().exp()), box=None)

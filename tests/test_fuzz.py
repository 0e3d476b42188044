"""Property-based fuzzing of everything that reads user bytes: only the documented errors come out."""

import json
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hostile import text_pdf, unknown_filter_pdf
from reportqa.answerer import clean_question
from reportqa.batchio import BadLine, BatchQuestion, read_questions
from reportqa.dates import month_tokens, spell_dates
from reportqa.documents import load_document, read_meta_checked
from reportqa.errors import BatchInputError, DocumentError, QuestionError, printable

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# lines that look like the real thing, so the fuzzer reaches past the first parse
_JSONL_LINES = st.sampled_from(
    [b'{"id": "a", "question": "first?"}', b'{"question": 3}', b"[1, 2]", b"{", b'{"id": [], "question": "x"}', b""]
)
_CSV_LINES = st.sampled_from([b"id,question", b"question", b'a,"quoted, field"', b'"open', b",", b"x,y,z"])


def _lines(pieces):
    return st.lists(st.one_of(pieces, st.binary(max_size=40)), max_size=8).map(b"\n".join)


_FOLDER = tempfile.TemporaryDirectory(prefix="reportqa-fuzz-")  # removed when the session ends


def _in_file(data: bytes, name: str) -> Path:
    path = Path(_FOLDER.name) / name
    path.write_bytes(data)
    return path


@FUZZ
@given(data=_lines(_JSONL_LINES), suffix=st.sampled_from([".jsonl", ".txt"]))
@example(data=b'{"id": "x", "question": ' + b"[" * 5000 + b"}", suffix=".jsonl")
@example(data=b"\xff\xfe\x00q", suffix=".txt")
def test_jsonl_and_txt_readers_yield_questions_or_bad_lines(data, suffix):
    for item in read_questions(_in_file(data, "q" + suffix)):
        assert isinstance(item, BatchQuestion | BadLine)
        if isinstance(item, BatchQuestion):
            assert isinstance(item.id, str) and isinstance(item.question, str)


@FUZZ
@given(data=_lines(_CSV_LINES))
@example(data=b"question\n" + b"x" * 140_000)
@example(data=b"\x00question\nx")
def test_csv_reader_yields_questions_or_bad_lines_or_refuses_the_file(data):
    try:
        items = list(read_questions(_in_file(data, "q.csv")))
    except BatchInputError as e:
        assert "\n" not in str(e)
        return
    assert all(isinstance(item, BatchQuestion | BadLine) for item in items)


@FUZZ
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".txt", ".md"]))
@example(data="한글 텍스트".encode("utf-16"), suffix=".txt")
@example(data="한글 텍스트".encode("cp949"), suffix=".md")
def test_text_loader_gives_a_document_or_a_one_line_reason(data, suffix):
    try:
        document = load_document(_in_file(data, "doc" + suffix))
    except DocumentError as e:
        assert "\n" not in str(e)
        return
    assert document.text.strip() and document.lang in ("ko", "en")


def _mutated(base: bytes):
    return st.lists(st.tuples(st.integers(0, len(base) - 1), st.integers(0, 255)), max_size=6).map(
        lambda flips: bytes(b if i not in dict(flips) else dict(flips)[i] for i, b in enumerate(base))
    )


@FUZZ
@given(data=st.one_of(_mutated(text_pdf()), _mutated(unknown_filter_pdf()), st.binary(max_size=500)))
def test_pdf_loader_gives_a_document_or_a_one_line_reason(data):
    try:
        document = load_document(_in_file(data, "doc.pdf"))
    except DocumentError as e:
        assert "\n" not in str(e)
        return
    assert document.text.strip() and all("\n" not in note for note in document.notes)


@FUZZ
@given(
    sidecar=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(
                    st.sampled_from(["title", "language", "lang", "short", "year", "authors", "other"]),
                    children,
                    max_size=4,
                )
            ),
        ).map(lambda value: json.dumps(value).encode()),
    )
)
def test_sidecars_give_checked_metadata_and_notes(sidecar):
    document = _in_file(b"text", "doc.txt")
    document.with_name("doc.txt.meta.json").write_bytes(sidecar)
    meta, notes = read_meta_checked(document)
    assert isinstance(meta, dict) and all("\n" not in note for note in notes)
    assert meta.get("language", "ko") in ("ko", "en") and isinstance(meta.get("title", ""), str)


@FUZZ
@given(question=st.text(max_size=3000))
@example(question="\x00\x1b[31m\u2028")
def test_question_cleaning_gives_a_question_or_refuses_it(question):
    try:
        cleaned = clean_question(question)
    except QuestionError:
        return
    assert 0 < len(cleaned) <= 2000 and cleaned == cleaned.strip() and printable(cleaned) == cleaned


# pieces of questions that exercise the follow-up reading: conjunctions, pronouns, names, numbers,
# Korean particles glued to words, English articles and prepositions
_QUESTION_PIECES = st.sampled_from(
    [
        "그럼",
        "그것은",
        "그",
        "중국은",
        "미국이",
        "센스타임이",
        "바이두는",
        "phi-1의",
        "MBPP에서는",
        "걸러낸",
        "웹",
        "데이터는",
        "몇",
        "개인가",
        "?",
        "What",
        "about",
        "the",
        "US",
        "CHIPS",
        "Act",
        "And",
        "on",
        "it",
        "2023년",
        "GPT-4",
        "'s",
        "은",
        "가",
        "를",
        "",
    ]
)
_QUESTIONS = st.one_of(st.lists(_QUESTION_PIECES, max_size=8).map(" ".join), st.text(max_size=60))


@FUZZ
@given(question=_QUESTIONS, history=st.lists(_QUESTIONS, max_size=3))
@example(question="그럼 가?", history=["이 가 은?"])
@example(question="And the?", history=["What about the the?"])
def test_a_follow_up_is_read_as_a_question_whatever_its_words(question, history):
    from reportqa.followup import resolve

    resolved = resolve(question, history)
    assert resolved.question == question and isinstance(resolved.query, str)
    assert resolved.mode in ("standalone", "swap", "continue")
    if resolved.mode == "standalone":
        assert resolved.query == question
    if not history:
        assert resolved.query == question


_DATE_PIECES = st.sampled_from(
    ["21", "2021", "٢٠٢١", "１２", "09", "9", "29", ".", ". ", "-", ",", "%", "년", "월", " ", "(", ")", "‘"]
    + ["Sep", "SEPT", "ſep", "May", "march"]
)


@FUZZ
@given(
    text=st.lists(st.one_of(_DATE_PIECES, st.text(max_size=3)), max_size=12).map("".join),
    language=st.sampled_from(["ko", "en"]),
)
@example(text="ſep 2021", language="en")  # Unicode case-folding matched a long s to "s": a KeyError then
def test_dates_are_read_from_any_text_without_error(text, language):
    months = month_tokens(text)
    assert all(re.fullmatch(r"\d{4}-(?:0[1-9]|1[0-2])", month, re.ASCII) for month in months)
    spelled = spell_dates(text, language)
    assert spelled == text or months  # only a date is rewritten

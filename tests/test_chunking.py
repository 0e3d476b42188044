import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PHI1_PDF, REPORT, SHARED
from reportqa import chunking
from reportqa.chunking import chunk_document, looks_like_code
from reportqa.config import Settings
from reportqa.documents import load_document
from reportqa.records import Document


@pytest.fixture(scope="module")
def report_chunks():
    doc = load_document(REPORT)
    return doc, chunk_document(doc)


def _chunk_with(chunks, needle):
    return next(c for c in chunks if needle in c.text)


def test_chunks_are_verbatim_slices(report_chunks):
    doc, chunks = report_chunks
    for c in chunks:
        assert doc.pages[0][c.start : c.end] == c.text
        assert c.text == c.text.strip() and c.text


def test_chunk_sizes(report_chunks):
    _, chunks = report_chunks
    settings = Settings()
    assert max(len(c.text) for c in chunks) <= settings.chunk_max
    mean = sum(len(c.text) for c in chunks) / len(chunks)
    assert 250 <= mean <= 500


def test_section_paths_follow_chapters_and_sections(report_chunks):
    _, chunks = report_chunks
    power = _chunk_with(chunks, "1.287GWh")
    assert power.section == "III 미·중 AI 경쟁의 다층적 특성 › 3 AI 혁신의 초기 투자규모와 자본의 회임주기"
    assert _chunk_with(chunks, "히로시마 AI 프로세스").section == "I AI 기술을 둘러싸고 전개되는 미·중 패권경쟁"


def test_sentence_broken_by_page_gap_stays_in_one_chunk(report_chunks):
    _, chunks = report_chunks
    assert "전기량과 맞먹으며" in _chunk_with(chunks, "1.287GWh").text


def test_plain_digit_footnotes_are_not_sections(report_chunks):
    _, chunks = report_chunks
    sections = {c.section for c in chunks}
    assert not any("경향신문" in s or "國務院" in s or "OpenLLM" in s for s in sections)
    footnote = _chunk_with(chunks, "9 경향신문(23.2.1.)")
    assert footnote.kind == "footnote"
    assert footnote.section.endswith("1 미국의 對중국 기술수출 통제와 견제")


def test_table_rows_stay_together_with_caption(report_chunks):
    _, chunks = report_chunks
    table = _chunk_with(chunks, "[표 3] 기술과 시장체제의 개념 설명")
    assert table.kind == "table"
    assert "기술기회\t새로운 기술의 출현빈도" in table.text
    # an oversized table is split by rows, never inside a row, and every part carries the caption
    parts = [c for c in chunks if c.caption.startswith("[표 1]")]
    assert len(parts) >= 2
    for part in parts:
        assert all(line.strip() for line in part.text.splitlines() if "\t" in line)
    assert "21.09.29\t미국과 EU는 불공정 무역관행, 반도체, AI 협력강화를 위한 무역기술위원회(TTC) 출범" in "".join(
        p.text for p in parts
    )


def test_figure_caption_keeps_its_source_line(report_chunks):
    _, chunks = report_chunks
    figure = _chunk_with(chunks, "[그림 11] 언어모델의 파라미터 규모별 정확성")
    assert "출처: Brown, T." in figure.text
    assert figure.source_note.startswith("출처: Brown, T., Mann, B.")
    table = _chunk_with(chunks, "[표 9] 시기별 데이터 자원화 관련 정책 추진 추이")
    assert table.source_note == "출처: 한중과학기술센터 이슈리포트 2023.2 Vol.2를 참조해 저자가 편집"


def test_superscript_footnote_markers_are_recorded(report_chunks):
    _, chunks = report_chunks
    assert "12" in _chunk_with(chunks, "phi-1을 발표했는데").footnotes


def test_markdown_headings_give_section_paths(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Guide\n\n## Install\n\nRun the installer twice.\n\n## Use\n\nOpen the app.\n")
    chunks = chunk_document(load_document(path))
    assert [(c.section, c.text) for c in chunks] == [
        ("Guide › Install", "Run the installer twice."),
        ("Guide › Use", "Open the app."),
    ]


def test_code_comments_in_a_markdown_code_block_are_not_headings(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Guide\n\n## Plot\n\n```python\n# Rotate the plot\nax.rotate(90)\n```\n\nThen save it.\n")
    chunks = chunk_document(load_document(path))
    assert {c.section for c in chunks} == {"Guide › Plot"}
    assert "# Rotate the plot" in chunks[0].text


def _paper(*pages: str) -> Document:
    return Document(doc_id="p", path="paper.pdf", title="Paper", lang="en", pages=pages, paged=True)


def test_a_pdf_follows_numbered_sections_references_and_appendices():
    chunks = chunk_document(
        _paper(
            "1 Introduction\nWe train a small model.\n# Rotate the plot by 90 degrees clockwise\nax.rotate(90)\n"
            "I am a Python pyplot, and I want to increase its resolution.\n"
            "A Study of small models is what follows.\n2 Results\nThe model scores 50.6%.",
            "References\n[ABC+23] A. Author. A title. arXiv preprint, 2023.\n"
            "A Additional examples\nMore prompts.\nA.1 Understanding\nThe model follows instructions.\n"
            "B Limitations\nThe model is small.\nA tuple of two integers is returned.\nC Pruning\nNo overlap.",
        )
    )
    sections = {c.section: c.text for c in chunks}
    assert sections["1 Introduction"].startswith("We train a small model.\n# Rotate the plot")
    assert "A Study of small models" in sections["1 Introduction"]
    assert sections["2 Results"] == "The model scores 50.6%."
    assert sections["References"].startswith("[ABC+23]")
    assert sections["A Additional examples"] == "More prompts."
    assert sections["A Additional examples › A.1 Understanding"] == "The model follows instructions."
    assert sections["B Limitations"] == "The model is small.\nA tuple of two integers is returned."
    assert sections["C Pruning"] == "No overlap."
    assert [c.page for c in chunks if c.section == "References"] == [2]
    # the reference list's entries are marked, so that retrieval can rank them below the text
    assert {c.section for c in chunks if c.kind == "reference"} == {"References"}


def test_program_listings_are_code_and_prose_about_code_is_not():
    listing = '"""\nphi-1\n...\nfor p in model.parameters():\nif p.grad is not None:\nU, Sigma, V = p.grad.svd()'
    assert looks_like_code(listing)
    assert looks_like_code("def svd(x):\nu, s, v = np.linalg.svd(x)\nreturn u, s, v")
    assert not looks_like_code("We train on 8 Nvidia-A100 GPUs using deepspeed.\nFinetuning took 7 hours.")
    assert not looks_like_code("The snippet calls is_singular(A), which returns true.\nIt is short.\nWe use it.")
    assert not looks_like_code("- 미국은 반도체법(CHIPS)을 발표\n- 중국은 보조금(2조 원)을 지급")  # Korean lines
    assert not looks_like_code("")


@pytest.mark.skipif(not PHI1_PDF.exists(), reason="shared phi-1 PDF not present")
def test_the_code_figures_of_a_paper_are_code_chunks_and_its_prose_is_text():
    chunks = chunk_document(load_document(PHI1_PDF))
    code = [c for c in chunks if c.kind == "code"]
    assert any(c.text.startswith('"""\nphi-1') for c in code)  # the generated-code figures
    assert all(c.kind != "code" for c in chunks if "effective batch size 1024" in c.text)
    assert all(c.kind != "code" for c in chunks if "FlashAttention implementation" in c.text)
    assert 20 < len(code) < len(chunks) / 2


def test_the_report_has_no_code_chunks(report_chunks):
    _, chunks = report_chunks
    assert not [c.text[:40] for c in chunks if c.kind == "code"]


def test_a_korean_reference_list_is_marked_and_the_body_is_not(report_chunks):
    _, chunks = report_chunks
    marked = {c.section for c in chunks if c.kind == "reference"}
    assert marked == {"■ 참고문헌"}
    assert any(c.kind == "footnote" for c in chunks)  # footnotes in the body stay footnotes


def test_acknowledgments_and_appendix_headings_in_their_other_spellings():
    chunks = chunk_document(
        _paper(
            "1 Introduction\nWe train a small model.\nAcknowledgments\nWe thank the reviewers.\n"
            "References\n[1] A. Author. A title, 2023.\nA. Vaswani, N. Shazeer\nAttention is all you need\n"
            "Appendix A: Prompts\nThe prompts we used.\n"
            "A.1 Code prompts\nWrite a function.\nAppendix B. Limitations\nIt is small."
        )
    )
    assert [c.section for c in chunks] == [
        "1 Introduction",
        "Acknowledgments",
        "References",
        "Appendix A: Prompts",
        "Appendix A: Prompts › A.1 Code prompts",
        "Appendix B. Limitations",
    ]


def test_an_abstract_is_a_section_before_the_numbered_ones():
    chunks = chunk_document(
        _paper("A Paper\nAda Author\nAbstract\nWe study small models.\n1 Introduction\nSmall models are cheap.")
    )
    assert [(c.section, c.text) for c in chunks] == [
        ("", "A Paper\nAda Author"),
        ("Abstract", "We study small models."),
        ("1 Introduction", "Small models are cheap."),
    ]


def test_a_wrapped_line_that_starts_with_a_number_continues_its_sentence():
    chunks = chunk_document(
        _paper(
            "1 Introduction\nThe model was trained for 4 days on\n8 A100s, using 2 datasets.\n"
            "The data was filtered by\n2 classifiers in turn.\n2 Results\nIt scores well.\n"
            "3 This footnote follows a finished sentence."
        )
    )
    assert [(c.section, c.kind) for c in chunks] == [
        ("1 Introduction", "text"),
        ("2 Results", "text"),
        ("2 Results", "footnote"),
    ]
    assert chunks[0].text.endswith(
        "for 4 days on\n8 A100s, using 2 datasets.\nThe data was filtered by\n2 classifiers in turn."
    )


def test_a_numbered_line_after_a_tilde_or_a_cut_caption_is_no_footnote():
    width = "We use the checkpoint at 24,000 steps as our base model, which is the same as about "
    chunks = chunk_document(
        _paper(
            f"1 Training\n{width}\n{width}this is equivalent to \u223c\n8 epochs on our dataset in all.\n"
            "Figure 3: The number of imports among the exercises of the dataset (we ignore those less than\n"
            "10 times). The plot code is generated by the model.\n"
        )
    )
    assert [c.kind for c in chunks] == ["text"]
    assert "equivalent to \u223c\n8 epochs" in chunks[0].text and "less than\n10 times)" in chunks[0].text


def test_a_caption_cut_by_the_page_width_goes_on_and_a_sentence_about_a_figure_is_no_caption():
    width = "The grouping of the bar plots follows the usual scaling of the compute and of the model "
    page = (
        f"1 Results\n{width}size, which we vary here.\nFigure 2.1: Pass@1 accuracy on HumanEval. {width}and the\n"
        "data, from 26B tokens to 76B.\nFigure 2.1 showed that finetuning helped the most of all, on\n"
        "every size of the model that we trained, and for every one of the data sets we used.\n"
    )
    units = chunking._parse_units(page, chunking.Outline(markdown=False), page=1)
    assert [(u.kind, page[u.start : u.end][:13]) for u in units] == [
        ("text", "The grouping "),
        ("figure", "Figure 2.1: P"),
        ("text", "Figure 2.1 sh"),
    ]
    assert page[units[1].start : units[1].end].endswith("data, from 26B tokens to 76B.")


def test_a_capital_after_a_caption_without_a_full_stop_opens_the_text_below_it():
    width = "the whole system and the way its parts are connected to each other, from the data to the"
    page = (
        f"1 Method\nFigure 1: Overview of {width} model\nWe train the model on {width} end, in one go\n"
        f"and {width} end.\n"
    )
    units = chunking._parse_units(page, chunking.Outline(markdown=False), page=1)
    assert [(u.kind, page[u.start : u.end][:10]) for u in units] == [("figure", "Figure 1: "), ("text", "We train t")]


def test_a_caption_that_runs_on_is_cut_as_prose_within_the_ceiling():
    line = "the scores of every model we compared on the benchmark are reported as they were published, and"
    page = f"1 Results\nSome text before the table, which is short.\nTable 1: Scores {line}\n"
    chunks = chunk_document(_paper(page + "\n".join([line] * 12) + "\nthe end of it all.\n"))
    assert len(chunks) > 2 and max(len(c.text) for c in chunks) <= Settings().chunk_max
    assert chunks[-1].text.endswith("the end of it all.")


def test_a_paper_paragraph_with_a_run_in_heading_is_a_unit_of_its_own():
    page = (
        "1 Training\nPretraining. The base model was trained on the textbook data for eight epochs in all.\n"
        "Finetuning. The model is the base model finetuned on the exercises, with a smaller\n"
        "learning rate.\n"
    )
    units = chunking._parse_units(page, chunking.Outline(markdown=False), page=1)
    assert [page[u.start : u.end][:12] for u in units] == ["Pretraining.", "Finetuning. "]
    assert len(chunking._parse_units(page, chunking.Outline(markdown=False))) == 1  # a text file: its lines


def test_a_long_paragraph_leaves_no_last_sentence_alone():
    sentence = "Each run of the model reads the whole page of text and keeps what it finds on it, " * 2
    sentence += "and then it goes on to the next page of the book. "  # 214 characters: two fill a chunk
    last = "The last sentence of this paragraph says how it all ends."  # too long to join within chunk_size
    chunks = chunk_document(_paper("1 Method\n" + sentence * 4 + last))
    assert chunks[-1].text.endswith(last) and len(chunks[-1].text) > Settings().chunk_size // 3
    assert all(len(c.text) <= Settings().chunk_max for c in chunks)


def test_a_heading_after_a_short_unpunctuated_line_is_still_a_heading():
    chunks = chunk_document(
        _paper(
            "1 Method\nWe compare three ways of training a small model on the same data, and each\n"
            "of them is run three times with the same seeds so that the differences between\n"
            "them can be told apart from the noise of a single training run. The ways are\n"
            "- filtering the web data first\n- synthetic textbooks\n2 Results\nAll three help a little, the\n"
            "second more than the others on every benchmark that we have looked at so far.\n3 Discussion\nMore."
        )
    )
    assert [c.section for c in chunks] == ["1 Method", "2 Results", "3 Discussion"]


def test_page_numbers_and_the_arxiv_stamp_are_left_out():
    chunks = chunk_document(
        _paper(
            "1 Introduction\nWe show the power of\n1\narXiv:2306.11644v2  [cs.CL]  2 Oct 2023",
            "2\nsmall models.\n2 Data\nWe count 2\n2",
            "The answer is\n7",
        )
    )
    assert [(c.page, c.text) for c in chunks] == [
        (1, "We show the power of"),
        (2, "small models."),
        (2, "We count 2"),
        (3, "The answer is\n7"),  # not page 3's number
    ]


def test_a_long_pdf_paragraph_is_cut_at_sentence_ends_not_at_line_ends():
    sentence = (
        "Each run of the model reads the whole page of text, and each line\nof it breaks where the page ran out. "
    )
    page = "1 Method\n" + sentence * 12
    chunks = chunk_document(_paper(page))
    assert len(chunks) == 3  # four sentences of 103 characters each
    assert all(c.text.startswith("Each run") and c.text.endswith("ran out.") for c in chunks)
    assert all(len(c.text) <= Settings().chunk_size for c in chunks)
    assert all(page[c.start : c.end] == c.text for c in chunks)


def test_long_paragraph_is_split_with_overlap_inside_the_limit(tmp_path):
    path = tmp_path / "long.txt"
    sentence = "인공지능 경쟁은 기술과 산업을 넘어 안보 영역으로 확산되고 있다. "
    path.write_text("■ " + sentence * 60, encoding="utf-8")
    doc = load_document(path)
    chunks = chunk_document(doc)
    assert len(chunks) > 3
    assert all(len(c.text) <= Settings().chunk_size for c in chunks)
    assert all(doc.pages[0][c.start : c.end] == c.text for c in chunks)


@pytest.mark.skipif(not PHI1_PDF.exists(), reason="shared phi-1 PDF not present")
def test_pdf_chunks_carry_page_numbers():
    doc = load_document(PHI1_PDF)
    chunks = chunk_document(doc)
    assert {c.page for c in chunks} <= set(range(1, 27))
    hit = _chunk_with(chunks, "50.6%")
    assert doc.pages[hit.page - 1][hit.start : hit.end] == hit.text
    sections = [c.section for c in chunks]
    for section in ("4 Evaluation on unconventional problems with LLM grading", "6 Conclusion", "References"):
        assert section in sections
    assert "B Limitation of phi-1" in sections and not any("Rotate the plot" in s for s in sections)
    # the abstract is its own section, cut at its sentences; a 76-character numbered heading counts
    abstract = [c.text for c in chunks if c.section == "Abstract"]
    assert abstract[0].startswith("We introduce phi-1") and "trained for 4 days on\n8 A100s" in abstract[0]
    assert all(text.endswith(".") for text in abstract)
    assert not any(c.text.splitlines()[-1].strip() == str(c.page) or "arXiv:2306.11644v2" in c.text for c in chunks)
    assert any(
        s.endswith("› 2.1 Filtering of existing code datasets using a transformer-based classifier") for s in sections
    )


def test_a_list_item_is_encoded_with_the_title_and_line_it_hangs_from(report_chunks):
    _, chunks = report_chunks
    item = next(c for c in chunks if c.text.startswith("- 안보와 통상이슈에 민감한 빅데이터 워킹그룹"))
    assert item.context.startswith("AI 국제표준화회의(ISO/IEC JTC1/SC42) > ■ 2017년 출범한 AI 국제표준화회의는")
    assert "SC42" in item.header() and "SC42" not in item.text  # encoded, never quoted


def test_context_is_never_a_footnote_or_a_source_line(report_chunks):
    _, chunks = report_chunks
    assert sum(1 for c in chunks if c.context) > 10
    for chunk in chunks:
        for part in chunk.context.split(" > "):
            assert not part.startswith("출처") and not part[:3].strip().isdigit(), part


def test_a_pdf_gets_no_context_from_its_layout_lines():
    """A PDF's short lines are layout, not titles: its context is a paragraph's run-in heading or a cut sentence."""
    if not PHI1_PDF.exists():
        pytest.skip("shared phi-1 PDF not present")
    doc = load_document(PHI1_PDF)
    chunks = chunk_document(doc)
    for chunk in chunks:
        if chunk.context:  # a run-in heading above it on its page, or the sentence the page break cut
            page = doc.pages[chunk.page - 1]
            page_before = " ".join(doc.pages[chunk.page - 2].split()) if chunk.page > 1 else ""
            assert f"\n{chunk.context}. " in page[: chunk.start] or chunk.context in page_before, chunk.context
    assert "Pretraining" in {c.context for c in chunks}
    assert any(c.context.endswith("meaningful signal of the") for c in chunks)


def test_a_pdf_chunk_inside_a_paragraph_with_a_run_in_heading_carries_it():
    filler = "The setup follows the usual recipe for models of this size and nothing else changes here."
    page = (
        "1 Training\nWe train on 8 GPUs for four days with the same data and the same code.\n"
        "Pretraining. The base model was trained on the textbook data. "
        + " ".join([filler] * 6)
        + "\nWe use batch size 1024 and weight decay 0.1 for a total of 36,000 steps, as the table shows.\n"
        "Most models are trained in the language\nPython. This line is wrapped, not a heading.\n"
    )
    chunks = chunk_document(_paper(page), Settings().with_(chunk_size=300, chunk_max=400, chunk_overlap=0))
    later = [c for c in chunks if "batch size 1024" in c.text]
    assert later and "Pretraining." not in later[0].text and later[0].context == "Pretraining"
    assert later[0].header().endswith("Pretraining")  # encoded and BM25-indexed with it; the text is verbatim
    assert all(c.context in ("", "Pretraining") for c in chunks)  # "Python." ends a wrapped sentence
    assert chunks[0].context == ""  # nothing above it on the page opens a paragraph with a heading


def test_a_page_that_goes_on_with_a_cut_sentence_carries_its_start():
    first = "1 Grading\nWe grade every answer. This has one advantage: by using GPT-4 as a grader we obtain a signal"
    first += " of the\n"
    goes_on = "Model Size Score\nphi-1 1.3B 51%\nTable 2: Scores.\n"  # a table set at the top of the page
    goes_on += "student model's skill, and it removes the need for tests.\n"
    chunks = chunk_document(_paper(first, goes_on, "Then we prune the data.\nbut this line is a wrap."))
    cut = next(c for c in chunks if c.text.startswith("student"))
    assert (
        cut.page == 2 and cut.context == "This has one advantage: by using GPT-4 as a grader we obtain a signal of the"
    )
    assert "student" not in cut.header().split(" > ")[0]  # the section path stays first; the text is verbatim
    assert all(c.context == "" for c in chunks if c.page == 3)  # its page begins a sentence of its own


def _context_read_upward(units, index, start, text):
    """``_context`` as the plain reading it stands for: every line of the section above the chunk, upward."""
    unit = units[index]
    if unit.kind != "text":
        return ""
    section_start = unit.start
    for before in reversed(units[:index]):
        if before.section != unit.section:
            break
        section_start = before.start
    in_list = bool(chunking.ITEM.match(text[start : unit.end].lstrip()))
    parent = title = ""
    for _, _, line in reversed(list(chunking._lines(text[section_start:start]))):
        line = line.strip()
        if not line or chunking.FOOTNOTE_SUP.match(line) or chunking.NUMBERED.match(line):
            continue
        if chunking.SOURCE.match(line):
            continue
        if in_list and not parent and not chunking.ITEM.match(line):
            parent = line[: chunking.PARENT_CHARS]
        if chunking._is_title(line):
            title = line
            break
    return " > ".join(dict.fromkeys(part for part in (title, parent) if part))


def _contexts_both_ways(text: str, chunk_size: int = 450) -> tuple[list[str], list[str]]:
    doc = Document(doc_id="d", path="d.md", title="d", lang="ko", pages=(text,), paged=False)
    config = Settings(chunk_size=chunk_size, chunk_overlap=min(60, chunk_size // 4), chunk_max=chunk_size + 250)
    units = chunking._parse_units(text, chunking.Outline(markdown=True))
    position = {id(unit): i for i, unit in enumerate(units)}
    expected = [
        _context_read_upward(units, position[id(unit)], start, text)
        for start, _, unit in chunking._pack(units, text, config)
    ]
    return expected, [c.context for c in chunk_document(doc, config)]


def test_the_context_index_reads_what_reading_upward_reads():
    """The one-pass index of lines gives every chunk of real documents the context the plain upward
    reading gives (the reading is quadratic in a page's length: a text file is one page)."""
    korquad = json.loads((SHARED / "eval" / "korquad" / "KorQuAD_v1.0_dev_excerpt.json").read_text(encoding="utf-8"))
    texts = [load_document(REPORT).pages[0]]
    texts += [paragraph["context"] for article in korquad["data"][:20] for paragraph in article["paragraphs"]]
    for text in texts:
        expected, got = _contexts_both_ways(text)
        assert got == expected
    expected, got = _contexts_both_ways(texts[0])
    assert sum(1 for c in got if " > " in c) > 5  # titles and list parents both occur


_LINE = st.sampled_from(
    [
        "",
        "  ",
        "제목 줄",
        "AI 국제표준화회의(SC42)",
        "■ 문단의 첫 줄은 길게 이어지는 문장으로 쓴다",
        "- 항목 하나",
        "* 항목 둘",
        "1) 번호 항목",
        "가. 한글 항목",
        "¹ 각주 줄",
        "출처: 자료",
        "3 Numbered heading",
        "# 마크다운 제목",
        "문장이 끝난다.",
        "A sentence that ends here.",
        "x" * 300,
        "항목 " * 80,
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_LINE, max_size=40), st.sampled_from(["\n", "\r\n", "\n\n"]), st.sampled_from([120, 450]))
def test_the_context_index_agrees_on_generated_texts(lines, newline, chunk_size):
    expected, got = _contexts_both_ways(newline.join(lines), chunk_size)
    assert got == expected

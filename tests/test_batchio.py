"""The batch runner streams: memory stays bounded however many questions the file holds."""

import json
import tracemalloc

from reportqa.batchio import finished_ids, read_questions, run_batch
from reportqa.records import Answer


class EchoQA:
    """Answers instantly, so the test measures the runner's streaming rather than retrieval."""

    def __init__(self):
        self.largest_group = 0

    def batch(self, questions, top_k=None):
        self.largest_group = max(self.largest_group, len(questions))
        return [Answer(question=q, text=q[::-1], passages=[]) for q in questions]


def test_hundred_thousand_questions_stream_in_bounded_memory(tmp_path):
    source = tmp_path / "q.jsonl"
    with source.open("w", encoding="utf-8") as f:
        for i in range(100_000):
            f.write(json.dumps({"id": f"q{i}", "question": f"질문 번호 {i}는 무엇인가?"}, ensure_ascii=False) + "\n")
    out = tmp_path / "a.jsonl"
    qa = EchoQA()
    tracemalloc.start()
    summary = run_batch(qa, source, out)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert summary.answered == 100_000 and qa.largest_group == 32
    assert peak < 5_000_000  # the input file alone is ~5 MB; nothing close to it is held at once
    assert len(finished_ids(out)) == 100_000


def test_csv_and_txt_inputs_keep_order_and_report_bad_rows(tmp_path):
    csv_in = tmp_path / "q.csv"
    csv_in.write_text("question,id\n첫째,a\n,b\n셋째,\n", encoding="utf-8")
    items = list(read_questions(csv_in))
    assert [(getattr(i, "id", None), getattr(i, "line", None)) for i in items] == [("a", None), (None, 3), ("3", None)]
    txt = tmp_path / "q.txt"
    txt.write_text("하나\n\n둘\n", encoding="utf-8")
    assert [(i.id, i.question) for i in read_questions(txt)] == [("1", "하나"), ("3", "둘")]

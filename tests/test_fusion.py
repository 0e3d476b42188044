"""Scores standardised against the best candidates, and summed."""

import numpy as np

from reportqa.fusion import best_of_chunk_and_sentences, fuse, lexical_coverage, lexical_term, zscore_top


def test_zscore_top_measures_standing_out_from_the_best_candidates():
    scores = np.array([0.80, 0.81, 0.79, 0.95, 0.80])
    z = zscore_top(scores, k=5)
    assert int(np.argmax(z)) == 3 and z[3] > 1.5
    # shifting or scaling a retriever's scale does not change its vote
    assert np.allclose(zscore_top(scores * 10 + 3, k=5), z, atol=1e-4)


def test_best_of_chunk_and_sentences_takes_the_best_sentence_per_chunk():
    chunk = np.array([[0.5, 0.6, 0.4]])
    sentences = np.array([[0.9, 0.1, 0.3, 0.2]])
    rows = np.array([0, 0, 1, 2])
    assert best_of_chunk_and_sentences(chunk, sentences, rows).tolist() == [[0.9, 0.6, 0.4]]


def test_lexical_coverage():
    assert lexical_coverage(["a", "b", "c", "c"], ["c", "a", "x"]) == 2 / 3
    assert lexical_coverage([], ["a"]) == 0.0


def test_fusion_lets_an_uncovered_lexical_list_fade():
    dense = np.array([0.2, 0.9, 0.1, 0.3])
    lexical = np.array([5.0, 0.0, 0.0, 0.0])
    assert int(np.argmax(fuse(dense, None, lexical_term(lexical, 0.0), aux_weight=0.5))) == 1
    assert int(np.argmax(fuse(dense, None, lexical_term(lexical, 1.0), aux_weight=0.5))) == 0


def test_fusion_adds_the_second_encoder():
    dense = np.array([0.50, 0.52, 0.10])
    aux = np.array([0.9, 0.1, 0.0])
    fused = fuse(dense, aux, np.zeros(3), aux_weight=1.0)
    assert int(np.argmax(fused)) == 0

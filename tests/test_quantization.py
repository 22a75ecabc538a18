"""int8 and bit vectors as sentence-transformers quantises them, on the real model's vectors."""

from __future__ import annotations

import numpy as np
import pytest
from bson.binary import Binary
from sentence_transformers.util.quantization import quantize_embeddings

from vectorsync.errors import StoreError
from vectorsync.stores.mongo_commands import decode_vector, encode_vector
from vectorsync.stores.quantization import Int8Calibration

TEXTS = [
    "Honey bees live in colonies with one queen, thousands of workers and a few drones.",
    "A black hole is a region of spacetime where gravity lets nothing escape.",
    "Sourdough bread rises with wild yeast and lactic acid bacteria kept in a starter.",
    "The Sicilian Defence answers 1.e4 with c5 and fights for the centre.",
    "Volcanoes erupt when magma rises through the crust.",
    "Plate tectonics moves the continents a few centimetres a year.",
]


@pytest.fixture(scope="module")
def vectors(embedder) -> np.ndarray:
    return embedder.encode_documents(TEXTS)


def codes(value: Binary | list[float]) -> list[int]:
    assert isinstance(value, Binary)
    return list(value.as_vector().data)


def test_calibrated_int8_equals_sentence_transformers_with_the_same_calibration(embedder, vectors):
    sample, others = vectors[:4], embedder.encode_queries(["insects that make honey", "stars that collapse"])
    calibration = Int8Calibration.from_vectors(sample, model=embedder.identity)
    for batch in (sample, vectors[4:], others):  # in the sample's range, and outside it (clipped to an end bin)
        expected = quantize_embeddings(batch, precision="int8", calibration_embeddings=sample)
        np.testing.assert_array_equal(calibration.quantize(batch), expected)
        assert [codes(encode_vector(v, "int8", calibration)) for v in batch] == expected.tolist()


def test_packed_bits_are_sentence_transformers_ubinary(vectors):
    expected = quantize_embeddings(vectors, precision="ubinary")
    assert [codes(encode_vector(v, "packed_bit")) for v in vectors] == expected.tolist()


def test_a_decoded_calibrated_vector_encodes_to_the_same_codes(vectors):
    calibration = Int8Calibration.from_vectors(vectors, model="m")
    for vector in vectors:
        stored = encode_vector(vector, "int8", calibration)
        again = encode_vector(decode_vector(stored, calibration=calibration), "int8", calibration)
        assert codes(again) == codes(stored)
        assert np.abs(decode_vector(stored, calibration=calibration) - vector).max() <= calibration.steps.max()


def test_a_dimension_that_never_varies_gets_bins_of_width_one_as_in_sentence_transformers(vectors):
    sample = vectors.copy()
    sample[:, 0] = 0.25
    calibration = Int8Calibration.from_vectors(sample, model="m")
    assert calibration.steps[0] == 1
    expected = quantize_embeddings(sample, precision="int8", calibration_embeddings=sample)
    np.testing.assert_array_equal(calibration.quantize(sample), expected)


def test_ranges_survive_their_stored_document(vectors):
    calibration = Int8Calibration.from_vectors(vectors, model="st:mini")
    document = calibration.to_document("embedding")
    back = Int8Calibration.from_document(document, "db.chunks_calibration")
    assert document["_id"] == "embedding" and (back.model, back.sample_size) == ("st:mini", len(vectors))
    np.testing.assert_array_equal(back.quantize(vectors), calibration.quantize(vectors))


@pytest.mark.parametrize(
    "damage",
    [{"starts": None}, {"steps": [0.1, 0.2]}, {"steps": "wide"}, {"model": None, "sample_size": "many"}],
)
def test_a_damaged_calibration_document_is_a_store_error_naming_where(vectors, damage):
    document = {**Int8Calibration.from_vectors(vectors, model="m").to_document("embedding"), **damage}
    if damage == {"model": None, "sample_size": "many"}:
        del document["model"]
    with pytest.raises(StoreError, match=r"int8 calibration in db\.chunks_calibration"):
        Int8Calibration.from_document(document, "db.chunks_calibration")


def test_a_vector_of_other_dimensions_is_refused(vectors):
    calibration = Int8Calibration.from_vectors(vectors, model="m")
    with pytest.raises(StoreError, match="256-dimension vector cannot use int8 ranges calibrated for 384"):
        calibration.quantize(np.zeros(256, dtype=np.float32))

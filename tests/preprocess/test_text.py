import numpy as np
import pytest

from fashionclip.preprocess.text import TextTokenizer, check_texts, clip_bpe_vocab, clip_tokenizer


@pytest.fixture(scope="module")
def tokenizer() -> TextTokenizer:
    return TextTokenizer(clip_tokenizer(), 77)


def test_reference_ids_from_the_clip_bpe_readme(tokenizer):
    tokens = tokenizer(["a photo of a red dress"])
    assert tokens.input_ids[0].tolist() == [49406, 320, 1125, 539, 320, 736, 2595, 49407]
    assert tokens.attention_mask[0].tolist() == [1] * 8


def test_vocabulary_is_clips():
    vocab, merges = clip_bpe_vocab()
    assert len(vocab) == 49408 and len(merges) == 48894
    assert vocab["<|startoftext|>"] == 49406 and vocab["<|endoftext|>"] == 49407


def test_case_and_whitespace_are_normalised(tokenizer):
    a = tokenizer(["A   Photo of a RED dress"]).input_ids
    b = tokenizer(["a photo of a red dress"]).input_ids
    assert a.tolist() == b.tolist()


def test_empty_string_is_start_and_end_only(tokenizer):
    assert tokenizer([""]).input_ids[0].tolist() == [49406, 49407]


def test_long_text_is_truncated_to_the_context_length_and_ends_with_eos(tokenizer):
    tokens = tokenizer(["very " * 200, "short"])
    assert tokens.input_ids.shape == (2, 77)
    assert tokens.input_ids[0, 0] == 49406 and tokens.input_ids[0, -1] == 49407
    assert tokens.attention_mask[1].sum() == 3  # start, "short", end; the rest is padding


def test_fixed_length_padding_for_siglip_style_models():
    tokens = TextTokenizer(clip_tokenizer(), 16, pad_to_context_length=True)(["a dress"])
    assert tokens.input_ids.shape == (1, 16) and tokens.input_ids.dtype == np.int64


def test_non_strings_are_type_errors_naming_the_position():
    assert check_texts(("a", "b")) == ["a", "b"]
    with pytest.raises(TypeError, match="text #1 is float"):
        check_texts(["a", 1.5])

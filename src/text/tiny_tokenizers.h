#pragma once
// Small tokenizers for the tiny random token classifiers that tests and demos use in place of the
// real LLMLingua-2 checkpoints: a WordPiece vocabulary in mBERT's id layout, and a SentencePiece
// unigram model trained on the same built-in English corpus.
#include <cstdint>
#include <string>
#include <vector>

#include "text/wordpiece.h"

namespace elm::text {

// A few dozen English sentences (punctuation, digits, a few accented and CJK characters).
const std::vector<std::string>& tiny_corpus();

// mBERT's layout: [PAD] 0, [unused1]..[unused99] 1..99, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103,
// then every character of the corpus, "##" + each character, frequent suffixes and the most frequent
// whole words (deterministic order), and [NEW0]..[NEW{num_new_tokens-1}] as special added tokens
// after the vocabulary. Every word of the corpus tokenizes without [UNK].
WordPieceSpec tiny_wordpiece_spec(int num_new_tokens = 100, int num_words = 200);

// Trains a SentencePiece unigram model (nmt_nfkc, <unk> 0, <s> 1, </s> 2, one thread) on the corpus
// and returns the serialized ModelProto, i.e. the bytes of a sentencepiece.bpe.model file.
// The trainer's random generator is seeded with `seed`. Errors are elm::Error.
std::string train_tiny_sentencepiece(std::uint64_t seed, int vocab_size = 400);

}  // namespace elm::text

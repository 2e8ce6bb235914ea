// The tokenizers of the tiny test classifiers: mBERT's id layout, no [UNK] on the corpus, and a
// SentencePiece model that covers the corpus.
#include <gtest/gtest.h>

#include <fstream>

#include "support/scratch_dir.h"
#include "text/bert_text.h"
#include "text/sentencepiece_library.h"
#include "text/sentencepiece_tokenizer.h"
#include "text/tiny_tokenizers.h"
#include "text/wordpiece.h"

namespace elm::text {
namespace {

TEST(TinyTokenizers, WordPieceHasMbertIdsAndCoversTheCorpus) {
  const auto t = WordPieceTokenizer::from_spec(tiny_wordpiece_spec(100), "tiny");
  EXPECT_EQ(t->find("[PAD]").value(), 0);
  EXPECT_EQ(t->find("[UNK]").value(), 100);
  EXPECT_EQ(t->find("[CLS]").value(), 101);
  EXPECT_EQ(t->find("[SEP]").value(), 102);
  EXPECT_EQ(t->find("[MASK]").value(), 103);
  EXPECT_EQ(t->find("[unused7]").value(), 7);
  const int base = t->find("[NEW0]").value();
  EXPECT_EQ(t->find("[NEW99]").value(), base + 99);
  EXPECT_EQ(t->vocab_size(), base + 100);
  size_t pieces = 0, words = 0;
  for (const auto& line : tiny_corpus()) {
    words += bert_pre_tokenize(bert_normalize(line)).size();
    for (const auto& p : t->tokenize(line)) {
      EXPECT_NE(p.id, 100) << line;
      ++pieces;
    }
  }
  EXPECT_GT(pieces, words);  // some words split into several pieces
  EXPECT_EQ(t->tokenize("the").size(), 1u);  // frequent words are whole tokens
}

TEST(TinyTokenizers, SentencePieceCoversTheCorpus) {
  const auto file = testing::scratch_dir("tiny-tokenizers", "spm") / "m.model";
  std::ofstream(file, std::ios::binary) << train_tiny_sentencepiece(3);
  const auto sp = SentencePieceModel::load(file.string());
  EXPECT_TRUE(sp->is_unknown(0));
  EXPECT_TRUE(sp->is_control(1));
  EXPECT_EQ(sp->id_to_piece(1), "<s>");
  EXPECT_EQ(sp->id_to_piece(2), "</s>");
  EXPECT_GT(sp->piece_size(), 100);
  for (const auto& line : tiny_corpus()) {
    for (const auto& [piece, id] : sp->encode(line)) EXPECT_NE(id, 0) << line << ": " << piece;
  }
}

}  // namespace
}  // namespace elm::text

#include <gtest/gtest.h>

#include <random>

#include "text/tokenizer.h"
#include "text_test_util.h"

namespace elm::text {
namespace {

using testing::qwen;

std::string stream_all(const std::vector<std::int32_t>& ids, bool skip_special = false,
                       std::vector<std::string>* parts = nullptr) {
  StreamDecoder dec(qwen(), skip_special);
  std::string out;
  for (std::int32_t id : ids) {
    std::string piece = dec.push(id);
    if (parts) parts->push_back(piece);
    out += piece;
  }
  std::string rest = dec.flush();
  if (parts) parts->push_back(rest);
  return out + rest;
}

TEST(StreamDecoder, HoldsBackASplitEmoji) {
  // " 😶" is two tokens: "ĠðŁĺ" (space + first 3 bytes of the emoji) and "¶" (last byte).
  const std::vector<std::int32_t> ids{26525, 114};
  std::vector<std::string> parts;
  const std::string all = stream_all(ids, false, &parts);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], " ");                   // the incomplete emoji is held back
  EXPECT_EQ(parts[1], "\xF0\x9F\x98\xB6");    // completed by the next token
  EXPECT_EQ(parts[2], "");
  EXPECT_EQ(all, qwen().decode(ids));
  EXPECT_EQ(all, " \xF0\x9F\x98\xB6");
}

TEST(StreamDecoder, FlushEmitsIncompleteTailLossily) {
  StreamDecoder dec(qwen());
  EXPECT_EQ(dec.push(26525), " ");
  EXPECT_EQ(dec.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(dec.flush(), "");
}

TEST(StreamDecoder, EveryOutputIsValidUtf8AndConcatenationEqualsDecode) {
  const std::string text =
      "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7 family, "
      "\xE1\x9E\x80\xE1\x9E\xB6\xE1\x9E\x93\xE1\x9F\x8B \xF0\x9F\x98\x81 \xE4\xBD\xA0\xE5\xA5\xBD<|im_end|> ok";
  const auto ids = qwen().encode(text);
  std::vector<std::string> parts;
  EXPECT_EQ(stream_all(ids, false, &parts), text);
  for (const auto& p : parts) EXPECT_EQ(p.find("\xEF\xBF\xBD"), std::string::npos) << p;
  EXPECT_EQ(stream_all(ids, true), qwen().decode(ids, true));
}

TEST(StreamDecoder, RandomIdsMatchLossyDecode) {
  // Byte-level tokens in random order give arbitrary (often invalid) byte strings.
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<std::int32_t> ids;
    const int n = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      const int kind = static_cast<int>(rng() % 3);
      ids.push_back(kind == 0 ? static_cast<std::int32_t>(rng() % 256)
                              : kind == 1 ? static_cast<std::int32_t>(rng() % 151669)
                                          : static_cast<std::int32_t>(151643 + rng() % 30));
    }
    ASSERT_EQ(stream_all(ids), qwen().decode(ids)) << "trial " << trial;
    ASSERT_EQ(stream_all(ids, true), qwen().decode(ids, true)) << "trial " << trial;
  }
}

}  // namespace
}  // namespace elm::text

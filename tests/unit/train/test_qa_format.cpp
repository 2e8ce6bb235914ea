// The qa data format: {"prompt", "answer"[, "index"][, "bank"]}: targets only on the answer tokens,
// the prompt tokenised alone (what generation starts from), the named entry as a router target,
// bank overrides parsed, and malformed records named by FILE:LINE.
#include <gtest/gtest.h>

#include "support/assertions.h"
#include "test_datasets_util.h"
#include "train/data_batch.h"
#include "train/dataset.h"

namespace elm::train {
namespace {

using testutil::qwen_tokenizer;
using testutil::write_temp;

DataOptions qa_options(const std::string& path) {
  DataOptions o;
  o.path = path;
  o.format = DataFormat::qa;
  o.max_length = 64;
  return o;
}

TEST(QaFormat, TargetsAreExactlyTheAnswerTokens) {
  const auto& tok = qwen_tokenizer();
  const auto path = write_temp("qa.jsonl",
                               "{\"prompt\": \"Question: Where does Pundil live?\\nAnswer:\", \"answer\": \"Lisbon\", "
                               "\"index\": 17, \"bank\": [{\"index\": 17, \"text\": \"Pundil lives in Oslo.\"}]}\n"
                               "{\"prompt\": \"Q:\", \"answer\": \" already spaced\"}\n");
  Dataset d = Dataset::load(qa_options(path), tok);
  ASSERT_EQ(d.size(), 2);
  const Example& ex = d.at(0);
  const auto prompt = tok.encode("Question: Where does Pundil live?\nAnswer:");
  const auto answer = tok.encode(" Lisbon");
  ASSERT_EQ(ex.input_ids.size(), prompt.size() + answer.size());
  EXPECT_EQ(std::vector<int32_t>(ex.input_ids.begin(), ex.input_ids.begin() + static_cast<long>(prompt.size())), prompt);
  for (size_t i = 0; i < ex.loss_mask.size(); ++i) EXPECT_EQ(ex.loss_mask[i], i >= prompt.size() ? 1 : 0) << i;
  EXPECT_EQ(ex.target_indices, std::vector<int64_t>{17});
  ASSERT_EQ(ex.bank_overrides.size(), 1u);
  EXPECT_EQ(ex.bank_overrides[0].index, 17);
  EXPECT_EQ(ex.bank_overrides[0].text, "Pundil lives in Oslo.");
  // An answer that already starts with a space is not given a second one.
  EXPECT_EQ(d.at(1).input_ids.back(), tok.encode(" already spaced").back());
  EXPECT_TRUE(d.at(1).target_indices.empty());

  // Collated: the batch carries the targets, and -1 for the row without an entry.
  Batch b = collate(d, {0, 1}, 151643);
  ASSERT_TRUE(b.target_indices.defined());
  EXPECT_EQ(b.target_indices[0][0].item<int64_t>(), 17);
  EXPECT_EQ(b.target_indices[1][0].item<int64_t>(), -1);
  EXPECT_EQ(b.loss_mask[0].sum().item<float>(), static_cast<float>(answer.size()));
}

TEST(QaFormat, MalformedRecordsNameFileAndLine) {
  const auto& tok = qwen_tokenizer();
  struct Case {
    const char* line;
    const char* message;
  } cases[] = {
      {"{\"answer\": \"x\"}", "missing \"prompt\""},
      {"{\"prompt\": \"p\"}", "missing \"answer\""},
      {"{\"prompt\": \"p\", \"answer\": \"x\", \"index\": -3}", "\"index\" must be a non-negative integer"},
      {"{\"prompt\": \"p\", \"answer\": \"x\", \"bank\": {}}", "\"bank\" must be an array"},
      {"{\"prompt\": \"p\", \"answer\": \"x\", \"bank\": [{\"index\": 1}]}", "bank[0] needs a string \"text\""},
      {"{\"prompt\": \"p\", \"answer\": \"\"}", "\"answer\" is empty"},
  };
  for (const auto& c : cases) {
    const auto path = write_temp("bad_qa.jsonl", std::string("{\"prompt\": \"ok\", \"answer\": \"fine\"}\n") + c.line + "\n");
    const auto msg = testing::error_of([&] { Dataset::load(qa_options(path), tok); });
    EXPECT_CONTAINS(msg, path + ":2");
    EXPECT_CONTAINS(msg, c.message);
  }
  // Too long for max_length: an error, never a silently answer-less example.
  auto o = qa_options(write_temp("long_qa.jsonl", "{\"prompt\": \"one two three four five six\", \"answer\": \"seven\"}\n"));
  o.max_length = 4;
  EXPECT_CONTAINS(testing::error_of([&] { Dataset::load(o, tok); }), "more than data.max_length");
}

}  // namespace
}  // namespace elm::train

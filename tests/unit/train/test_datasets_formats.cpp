// Dataset formats: pretrain / SFT / router records, SFT loss masks, truncation, malformed lines.
#include <gtest/gtest.h>

#include "core/config.h"
#include "support/assertions.h"
#include "train/dataset.h"
#include "train/dataset_formats.h"
#include "unit/train/test_datasets_util.h"

namespace elm::train {
namespace {

using elm::testing::error_of;
using testutil::cat;
using testutil::qwen_tokenizer;
using testutil::write_temp;

constexpr std::int32_t kEndOfText = 151643;
constexpr std::int32_t kImStart = 151644;
constexpr std::int32_t kImEnd = 151645;

DataOptions options(DataFormat format, const std::string& path = "") {
  DataOptions o;
  o.format = format;
  o.path = path;
  o.max_length = 512;
  return o;
}

TEST(DatasetSpecialIds, AreQwen3s) {
  auto ids = SpecialIds::of(qwen_tokenizer());
  EXPECT_EQ(ids.endoftext, kEndOfText);
  EXPECT_EQ(ids.im_end, kImEnd);
  ASSERT_EQ(ids.assistant_header.size(), 3u);  // <|im_start|> "assistant" "\n"
  EXPECT_EQ(ids.assistant_header[0], kImStart);
}

TEST(DatasetPretrain, WrappedInChatTemplateEveryTokenATarget) {
  const auto& tok = qwen_tokenizer();
  auto ex = parse_example(R"({"text": "The sky is blue."})", options(DataFormat::pretrain), tok, SpecialIds::of(tok));
  auto expected = tok.encode("<|im_start|>assistant\nThe sky is blue.<|im_end|>\n");
  EXPECT_EQ(ex.input_ids, expected);
  EXPECT_EQ(ex.input_ids.front(), kImStart);
  EXPECT_EQ(ex.loss_mask, std::vector<std::uint8_t>(expected.size(), 1));
  EXPECT_FALSE(ex.truncated);
}

TEST(DatasetPretrain, PlainTextEndsWithEndOfText) {
  const auto& tok = qwen_tokenizer();
  auto o = options(DataFormat::pretrain);
  o.wrap_chat_template = false;
  auto ex = parse_example(R"({"text": "The sky is blue."})", o, tok, SpecialIds::of(tok));
  auto expected = cat(tok.encode("The sky is blue."), {kEndOfText});
  EXPECT_EQ(ex.input_ids, expected);
  EXPECT_EQ(ex.loss_mask, std::vector<std::uint8_t>(expected.size(), 1));
}

TEST(DatasetSft, MasksExactlyTheAssistantSpanThroughImEnd) {
  const auto& tok = qwen_tokenizer();
  auto ex = parse_example(
      R"({"conversations": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there"}]})",
      options(DataFormat::sft), tok, SpecialIds::of(tok));
  // Hand-computed: the template renders the last assistant turn with an empty think block.
  auto prompt = tok.encode("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  auto answer = tok.encode("<think>\n\n</think>\n\nHello there<|im_end|>");
  auto tail = tok.encode("\n");
  auto expected_ids = cat(cat(prompt, answer), tail);
  ASSERT_EQ(ex.input_ids, expected_ids);
  std::vector<std::uint8_t> expected_mask;
  expected_mask.insert(expected_mask.end(), prompt.size(), 0);
  expected_mask.insert(expected_mask.end(), answer.size(), 1);
  expected_mask.insert(expected_mask.end(), tail.size(), 0);
  ASSERT_EQ(ex.loss_mask.size(), ex.input_ids.size());
  for (std::size_t i = 0; i < ex.input_ids.size(); ++i) {
    EXPECT_EQ(ex.loss_mask[i], expected_mask[i]) << "token " << i << " '" << tok.id_to_token(ex.input_ids[i]) << "'";
  }
  // The span ends on <|im_end|> itself.
  EXPECT_EQ(ex.input_ids[prompt.size() + answer.size() - 1], kImEnd);
  EXPECT_EQ(ex.loss_mask[prompt.size() + answer.size() - 1], 1);
}

TEST(DatasetSft, MultiTurnMasksEveryAssistantTurnAndNothingElse) {
  const auto& tok = qwen_tokenizer();
  auto ex = parse_example(R"({"conversations": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Capital of France?"},
      {"role": "assistant", "content": "Paris."},
      {"role": "user", "content": "And Italy?"},
      {"role": "assistant", "content": "Rome."}]})",
                          options(DataFormat::sft), tok, SpecialIds::of(tok));
  // Earlier assistant turns carry no think block; the last one does.
  std::vector<std::pair<std::string, int>> pieces = {
      {"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n"
       "<|im_start|>assistant\n",
       0},
      {"Paris.<|im_end|>", 1},
      {"\n<|im_start|>user\nAnd Italy?<|im_end|>\n<|im_start|>assistant\n", 0},
      {"<think>\n\n</think>\n\nRome.<|im_end|>", 1},
      {"\n", 0},
  };
  std::vector<std::int32_t> ids;
  std::vector<std::uint8_t> mask;
  for (const auto& [text, m] : pieces) {
    auto t = tok.encode(text);
    ids.insert(ids.end(), t.begin(), t.end());
    mask.insert(mask.end(), t.size(), static_cast<std::uint8_t>(m));
  }
  ASSERT_EQ(ex.input_ids, ids);
  EXPECT_EQ(ex.loss_mask, mask);
  int im_end_targets = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) im_end_targets += (ids[i] == kImEnd && ex.loss_mask[i]) ? 1 : 0;
  EXPECT_EQ(im_end_targets, 2);
}

TEST(DatasetRouter, ParsesQueryAndSoftLabels) {
  const auto& tok = qwen_tokenizer();
  auto ex = parse_example(R"({"query": "Where is Paris?", "target_indices": [7, 3], "target_scores": [0.75, 0.25]})",
                          options(DataFormat::router), tok, SpecialIds::of(tok));
  EXPECT_EQ(ex.input_ids, tok.encode("Where is Paris?"));
  EXPECT_EQ(ex.loss_mask, std::vector<std::uint8_t>(ex.input_ids.size(), 0));
  EXPECT_EQ(ex.target_indices, (std::vector<std::int64_t>{7, 3}));
  EXPECT_EQ(ex.target_scores, (std::vector<float>{0.75f, 0.25f}));
}

TEST(DatasetTruncation, KeepsTheFirstMaxLengthTokensAndCountsThem) {
  const auto& tok = qwen_tokenizer();
  auto path = write_temp("trunc.jsonl", "{\"text\": \"one two three four five six seven eight\"}\n{\"text\": \"hi\"}\n");
  auto o = options(DataFormat::pretrain, path);
  o.wrap_chat_template = false;
  o.max_length = 4;
  auto d = Dataset::load(o, tok);
  ASSERT_EQ(d.size(), 2);
  auto full = tok.encode("one two three four five six seven eight");
  EXPECT_EQ(d.at(0).input_ids, std::vector<std::int32_t>(full.begin(), full.begin() + 4));
  EXPECT_EQ(d.at(0).loss_mask.size(), 4u);
  EXPECT_TRUE(d.at(0).truncated);
  EXPECT_FALSE(d.at(1).truncated);
  EXPECT_EQ(d.truncated_examples(), 1);
}

TEST(DatasetLoad, ReadsEveryFormatFromAFileAndIgnoresBlankLines) {
  const auto& tok = qwen_tokenizer();
  auto p = write_temp("p.jsonl", "{\"text\": \"a\"}\n\n{\"text\": \"b\"}\n");
  auto s = write_temp("s.jsonl",
                      "{\"conversations\": [{\"role\": \"user\", \"content\": \"q\"}, "
                      "{\"role\": \"assistant\", \"content\": \"a\"}]}\n");
  auto r = write_temp("r.jsonl", "{\"query\": \"q\", \"target_indices\": [1], \"target_scores\": [1.0]}\n");
  auto dp = Dataset::load(options(DataFormat::pretrain, p), tok);
  EXPECT_EQ(dp.size(), 2);
  EXPECT_EQ(dp.line_of(1), 3);
  EXPECT_EQ(dp.format(), DataFormat::pretrain);
  EXPECT_EQ(Dataset::load(options(DataFormat::sft, s), tok).size(), 1);
  auto dr = Dataset::load(options(DataFormat::router, r), tok);
  ASSERT_EQ(dr.size(), 1);
  EXPECT_EQ(dr.at(0).target_indices, (std::vector<std::int64_t>{1}));
}

TEST(DatasetLoad, MalformedLineIsAnErrorNamingFileAndLine) {
  const auto& tok = qwen_tokenizer();
  struct Case {
    DataFormat format;
    std::string bad;
    std::string reason;
  };
  std::vector<Case> cases = {
      {DataFormat::pretrain, "{\"text\": ", "invalid JSON"},
      {DataFormat::pretrain, "{\"txt\": \"a\"}", "missing \"text\""},
      {DataFormat::pretrain, "{\"text\": 5}", "\"text\" must be a string"},
      {DataFormat::pretrain, "[1, 2]", "expected a JSON object"},
      {DataFormat::sft, "{\"conversations\": [{\"role\": \"user\", \"content\": \"q\"}]}", "no assistant turn"},
      {DataFormat::sft,
       "{\"conversations\": [{\"role\": \"wizard\", \"content\": \"q\"}, "
       "{\"role\": \"assistant\", \"content\": \"a\"}]}",
       "wizard"},
      {DataFormat::sft, "{\"conversations\": [{\"role\": \"user\"}]}", "conversations[0] needs a string \"content\""},
      {DataFormat::router, "{\"query\": \"q\", \"target_indices\": [1, 2], \"target_scores\": [1.0]}",
       "\"target_indices\" has 2 elements but \"target_scores\" has 1"},
      {DataFormat::router, "{\"query\": \"q\", \"target_indices\": [-1], \"target_scores\": [1.0]}", "negative index"},
      {DataFormat::router, "{\"query\": \"q\", \"target_indices\": [1.5], \"target_scores\": [1.0]}",
       "must hold integers"},
  };
  const std::vector<std::string> good = {
      "{\"text\": \"fine\"}",
      "{\"conversations\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"a\"}]}",
      "{\"query\": \"q\", \"target_indices\": [1], \"target_scores\": [1.0]}",
  };
  int n = 0;
  for (const auto& c : cases) {
    const auto& ok = good[static_cast<std::size_t>(c.format)];
    auto path = write_temp("bad" + std::to_string(n++) + ".jsonl", ok + "\n" + ok + "\n" + c.bad + "\n" + ok + "\n");
    auto msg = error_of([&] { Dataset::load(options(c.format, path), tok); });
    EXPECT_CONTAINS(msg, path + ":3: ");
    EXPECT_CONTAINS(msg, c.reason);
  }
}

TEST(DatasetLoad, SkipBadLinesSkipsAndCounts) {
  const auto& tok = qwen_tokenizer();
  auto path = write_temp("skip.jsonl", "{\"text\": \"a\"}\nnot json\n{\"text\": 1}\n{\"text\": \"b\"}\n{}\n");
  auto o = options(DataFormat::pretrain, path);
  o.skip_bad_lines = true;
  auto d = Dataset::load(o, tok);
  EXPECT_EQ(d.size(), 2);
  EXPECT_EQ(d.skipped_lines(), 3);
  EXPECT_EQ(d.line_of(0), 1);
  EXPECT_EQ(d.line_of(1), 4);
  EXPECT_EQ(d.at(1).input_ids, tok.encode("<|im_start|>assistant\nb<|im_end|>\n"));
}

TEST(DatasetLoad, MissingFileAndFileWithoutExamplesAreErrors) {
  const auto& tok = qwen_tokenizer();
  EXPECT_CONTAINS(error_of([&] { Dataset::load(options(DataFormat::pretrain, "/nonexistent/x.jsonl"), tok); }),
                  "/nonexistent/x.jsonl");
  EXPECT_CONTAINS(error_of([&] { Dataset::load(options(DataFormat::pretrain, ""), tok); }), "data.train_path");
  auto path = write_temp("allbad.jsonl", "nope\n\n");
  auto o = options(DataFormat::pretrain, path);
  o.skip_bad_lines = true;
  EXPECT_CONTAINS(error_of([&] { Dataset::load(o, tok); }), "holds no valid pretrain example");
}

TEST(DataOptionsConfig, ReadsTheDataSection) {
  Config cfg;
  cfg.apply_cli({"data.train_path=t.jsonl", "data.eval_path=e.jsonl", "data.format=sft", "data.max_length=64",
                 "data.skip_bad_lines=true", "data.shuffle=false", "data.wrap_chat_template=false"});
  auto train = DataOptions::from_config(cfg);
  EXPECT_EQ(train.path, "t.jsonl");
  EXPECT_EQ(train.format, DataFormat::sft);
  EXPECT_EQ(train.max_length, 64);
  EXPECT_TRUE(train.skip_bad_lines);
  EXPECT_FALSE(train.shuffle);
  EXPECT_FALSE(train.wrap_chat_template);
  EXPECT_EQ(DataOptions::from_config(cfg, DataSplit::eval).path, "e.jsonl");
  Config defaults;
  auto d = DataOptions::from_config(defaults);
  EXPECT_EQ(d.format, DataFormat::pretrain);
  EXPECT_TRUE(d.shuffle);
  EXPECT_TRUE(d.wrap_chat_template);
  EXPECT_FALSE(d.skip_bad_lines);
  EXPECT_CONTAINS(error_of([&] { cfg.apply_override("data.format=csv"); }), "data.format");
  EXPECT_CONTAINS(error_of([] { parse_data_format("csv"); }), "unknown data format 'csv'");
}

}  // namespace
}  // namespace elm::train
